#!/usr/bin/env python3
"""Issue 4 end to end: messages from proxied clients go through every
analyzer with MaxMind's test databases; review finds them by country, ASN
and campaign (queue list filters, stats, campaigns). Values checked against
MaxMind's source JSON (tests/fixtures/mmdb): 2.125.160.216 is GB in
GeoIP2-Country-Test, 1.128.0.1 is AS1221 "Telstra Pty Ltd" in
GeoLite2-ASN-Test."""
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for, send_proxied, FIXTURES, RELAYTRAP  # noqa: E402

MMDB = os.path.join(FIXTURES, "mmdb")


def listed(trap, *filt):
    r = trap.cli("queue", "list", "--json", *filt)
    return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]


def main():
    t = Tap()
    dbs = '{"%s", "%s"}' % (os.path.join(MMDB, "GeoIP2-Country-Test.mmdb"),
                            os.path.join(MMDB, "GeoLite2-ASN-Test.mmdb"))
    with Trap(t, listeners=("proxy:127.0.0.1:0",),
              options={"geoip_db": dbs}) as trap:
        body = "Cheap watches, visit http://watches.example/buy now"
        t.is_(send_proxied(trap.host, trap.port, "2.125.160.216", "watches one",
                           body), b"250", "message from 2.125.160.216 accepted")
        t.is_(send_proxied(trap.host, trap.port, "1.128.0.1", "watches two",
                           body), b"250", "message from 1.128.0.1 accepted")
        wait_for(lambda: len(listed(trap, "--state", "cur")) == 2, 30,
                 what="both messages analyzed")
        gb = listed(trap, "--country", "GB")
        t.is_([m["client"] for m in gb], ["2.125.160.216"],
              "queue list --country GB finds the GB client")
        asn = listed(trap, "--asn", "1221")
        t.is_([m["client"] for m in asn], ["1.128.0.1"],
              "queue list --asn 1221 finds the Telstra client")
        show = json.loads(trap.cli("queue", "show", asn[0]["id"], "--json").stdout)
        an_path = os.path.join(show["path"], "analysis.json")
        an = json.load(open(an_path))
        g = an.get("geoip", {}).get("client", {})
        t.is_((g.get("asn"), g.get("as_org")), (1221, "Telstra Pty Ltd"),
              "analysis.json: ASN and AS organisation")
        t.ok("watches.example" in an.get("content", {}).get("url_domains", []),
             "analysis.json: URL domain extracted", an.get("content"))
        t.ok(an.get("spf", {}).get("mail_from", {}).get("result") in
             ("temperror", "none", "neutral"), "analysis.json: SPF evaluated "
             "(DNS stays on loopback here)", an.get("spf"))
        t.is_(an.get("origin", {}).get("origin", {}).get("addr"), "1.128.0.1",
              "analysis.json: origin is the proxied client")
        txt = trap.cli("queue", "show", asn[0]["id"]).stdout
        t.ok(b"AS1221 Telstra Pty Ltd" in txt and
             b"http://watches.example/buy" in txt and b"urls:" in txt,
             "queue show (text) gives the GeoIP answer and the URLs", txt)
        camp = an.get("campaign", {}).get("campaign")
        t.ok(camp, "analysis.json: campaign assigned", an.get("campaign"))
        both = listed(trap, "--campaign", camp)
        t.is_(len(both), 2, "both copies are one campaign (queue list --campaign)")
        st = json.loads(trap.cli("stats", "--json").stdout)
        t.ok({"country": "GB", "messages": 1} in st.get("top_countries", []),
             "stats counts by country", st.get("top_countries"))
        t.ok(any(str(a.get("asn")) == "1221" for a in st.get("top_asns", [])),
             "stats counts by ASN", st.get("top_asns"))
        r = trap.cli("campaigns", "--json")
        cs = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
        t.ok(any(c.get("id") == camp and c.get("count") == 2 for c in cs),
             "relaytrap campaigns lists it with 2 messages", cs)
        bad = trap.event_type_conflicts()
        t.ok(not bad, "session, message, relaytest and analysis events: every key has one JSON type (one Elasticsearch "
             "mapping)", bad)
        ev = [e for e in trap.read_events() if e.get("type") == "analysis"]
        t.ok(any(e.get("country") == "GB" for e in ev), "analysis event carries the country")

        # relaytrap analyze brings the index up to date with what it
        # found: without the databases no country, with them GB again
        nogeo = os.path.join(trap.dir, "nogeo.conf")
        with open(nogeo, "w") as f:
            f.write('resolver = {"127.0.0.1:1"}\ngeoip_db = {"%s"}\n'
                    % os.path.join(MMDB, "GeoLite2-ASN-Test.mmdb"))
        withgeo = os.path.join(trap.dir, "withgeo.conf")
        with open(withgeo, "w") as f:
            f.write('resolver = {"127.0.0.1:1"}\ngeoip_db = %s\n' % dbs)
        r = subprocess.run([RELAYTRAP, "-c", nogeo, "-s", trap.spool,
                            "analyze", "--all"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        t.ok(r.returncode == 0, "relaytrap analyze --all without the "
             "country database", r.stderr)
        t.is_(listed(trap, "--country", "GB"), [],
              "then queue list --country GB finds nothing")
        r = subprocess.run([RELAYTRAP, "-c", withgeo, "-s", trap.spool,
                            "analyze", "--all"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        got = [m["client"] for m in listed(trap, "--country", "GB")]
        t.ok(got == ["2.125.160.216"], "and with it again, the GB client",
             "%r; analyze said: %s" % (got, (r.stdout + r.stderr).decode(errors="replace")[-800:]))
    t.done()


if __name__ == "__main__":
    main()
