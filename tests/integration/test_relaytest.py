#!/usr/bin/env python3
"""The worker classifies every committed message as relay test, spam or
known tester, stores relaytest.json beside it, shows it in `relaytrap queue
show` and emits a "relaytest" event (issue 3, classifier wired into the
worker; nothing is forwarded here)."""
import glob
import json
import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for, FIXTURES  # noqa: E402

TRAP_IP = "198.51.100.25"


def send(trap, sender, rcpts, data):
    with smtplib.SMTP(trap.host, trap.port, timeout=20) as s:
        s.ehlo("probe.example")
        s.sendmail(sender, rcpts, data)


def verdict_of(trap, subject_word):
    """the relaytest object of the message whose Subject has subject_word"""
    for m in trap.messages():
        if subject_word in (m.get("subject") or ""):
            r = trap.cli("queue", "show", m["id"], "--json")
            env = json.loads(r.stdout.decode() or "{}")
            return env.get("relaytest")
    return None


def main():
    t = Tap()
    opts = {"trap_address": '{"%s"}' % TRAP_IP, "relaytest_cluster_first": 0}
    with Trap(t, options=opts) as trap:
        # a classic relay test: the trap's address, hex-encoded, in Subject
        send(trap, "tester@example.org", ["dropbox@example.com"],
             b"From: tester@example.org\r\nTo: dropbox@example.com\r\n"
             b"Subject: relay C6336419 check-one\r\n\r\nok\r\n")
        # nmap's own probe address: a legitimate tester, never forwarded
        send(trap, "antispam@nmap.scanme.org", ["relaytest@nmap.scanme.org"],
             b"Subject: nmap check-two\r\n\r\nhello\r\n")
        # real spam from the fixtures
        spam = None
        for root, _, files in os.walk(os.path.join(FIXTURES, "spam")):
            for f in sorted(files):
                if f.endswith(".eml"):
                    spam = os.path.join(root, f)
                    break
            if spam:
                break
        data = open(spam, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        data = b"Subject: check-three spam\r\n" + data
        send(trap, "bulk@example.org", ["a@example.net", "b@example.net",
                                        "c@example.net"], data)

        rt = wait_for(lambda: verdict_of(trap, "check-one"), 20,
                      what="verdict of the relay test")
        t.is_(rt.get("verdict"), "relay_test", "hex-encoded trap address: relay test")
        t.ok(any(r["name"].startswith("trap_addr") for r in rt.get("reasons", [])),
             "the reason names the trap address", rt)
        rt = wait_for(lambda: verdict_of(trap, "check-two"), 20,
                      what="verdict of the nmap probe")
        t.is_(rt.get("verdict"), "tester", "nmap's probe address: known tester")
        rt = wait_for(lambda: verdict_of(trap, "check-three"), 20,
                      what="verdict of the spam")
        t.is_(rt.get("verdict"), "spam", "fixture spam to three recipients: spam")

        # the classifier is the pipeline's last analyzer: its status and
        # timing are the runner's like the others'; a re-analysis keeps
        # the verdict the worker stored (relaytest.json), records nothing
        mid = next(m["id"] for m in trap.messages()
                   if "check-one" in (m.get("subject") or ""))
        apath = wait_for(lambda: next(iter(glob.glob(os.path.join(
            trap.spool, "cur", "*", mid, "analysis.json"))), None), 20,
            what="analysis.json of the relay test")
        an = json.load(open(apath))
        run = an.get("runner", {})
        t.ok(run.get("status", {}).get("relaytest") == "ok" and
             "relaytest" in run.get("timings_ms", {}),
             "runner status and timing include relaytest", run)
        kept = json.load(open(os.path.join(os.path.dirname(apath), "relaytest.json")))
        t.is_(an.get("relaytest"), kept, "analysis.json holds the stored verdict")
        nev = len([e for e in trap.read_events() if e.get("type") == "relaytest"])
        r = trap.cli("analyze", mid)
        an2 = json.load(open(apath))
        t.ok(r.returncode == 0 and an2.get("relaytest") == kept,
             "relaytrap analyze keeps the worker's verdict",
             (r.returncode, r.stderr, an2.get("relaytest")))
        t.is_(len([e for e in trap.read_events() if e.get("type") == "relaytest"]),
              nev, "... and emits no relaytest event")

        out = trap.cli("queue", "list").stdout.decode()
        first = out.split()[0]
        show = trap.cli("queue", "show", first).stdout.decode()
        t.ok("relaytest:" in show, "queue show prints the verdict", show[:800])
        evs = [e for e in trap.read_events() if e.get("type") == "relaytest"]
        t.is_(len(evs), 3, "one relaytest event per message")
        t.ok(all("verdict" in e and "id" in e for e in evs),
             "events carry id and verdict", evs)
    t.done()


if __name__ == "__main__":
    main()
