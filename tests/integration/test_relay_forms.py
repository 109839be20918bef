#!/usr/bin/env python3
"""Promiscuous relay: every relay-test address form of nmap's
smtp-open-relay (16 tests) and Metasploit's smtp_relay (16 EXTENDED tests)
is accepted with 250 and recorded; real nmap calls each persona an open
relay (16/16) and -sV names the product (REFERENCE.md 1.1, 1.3, 2.3)."""
import os
import random
import re
import string
import sys
sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, tool  # noqa: E402
from protolib import (Conn, Evidence, code, persona_opts, guard, run,  # noqa: E402
                      client_port, finding, need_binaries, HOSTNAME)

IP = "127.0.0.1"
SRV = HOSTNAME          # nmap: first token after "220 " of the banner
DOM = "nmap.scanme.org"

# nmap smtp-open-relay.nse, the 16 tests verbatim (from=antispam, to=relaytest)
NMAP_FORMS = [
    ("<>", "<relaytest@%s>" % DOM),
    ("<antispam@%s>" % DOM, "<relaytest@%s>" % DOM),
    ("<antispam@%s>" % SRV, "<relaytest@%s>" % DOM),
    ("<antispam@[%s]>" % IP, "<relaytest@%s>" % DOM),
    ("<antispam@[%s]>" % IP, "<relaytest%%%s@[%s]>" % (DOM, IP)),
    ("<antispam@[%s]>" % IP, "<relaytest%%%s@%s>" % (DOM, SRV)),
    ("<antispam@[%s]>" % IP, '<"relaytest@%s">' % DOM),
    ("<antispam@[%s]>" % IP, '<"relaytest%%%s">' % DOM),
    ("<antispam@[%s]>" % IP, "<relaytest@%s@[%s]>" % (DOM, IP)),
    ("<antispam@[%s]>" % IP, '<"relaytest@%s"@[%s]>' % (DOM, IP)),
    ("<antispam@[%s]>" % IP, "<relaytest@%s@%s>" % (DOM, SRV)),
    ("<antispam@[%s]>" % IP, "<@[%s]:relaytest@%s>" % (IP, DOM)),
    ("<antispam@[%s]>" % IP, "<@%s:relaytest@%s>" % (SRV, DOM)),
    ("<antispam@[%s]>" % IP, "<%s!relaytest>" % DOM),
    ("<antispam@[%s]>" % IP, "<%s!relaytest@[%s]>" % (DOM, IP)),
    ("<antispam@[%s]>" % IP, "<%s!relaytest@%s>" % (DOM, SRV)),
]

# Metasploit smtp_relay EXTENDED: fu/td from MAILFROM sender@example.com,
# MAILTO target@example.com; serverhost = the trap's name.
FU, FD, TU, TD = "sender", "example.com", "target", "example.com"
MSF_FORMS = [
    # (MAIL path, RCPT path, findings the RCPT/MAIL must produce)
    ("<>", "<%s@%s>" % (TU, TD), []),
    ("<%s@%s>" % (FU, FD), "<%s@%s>" % (TU, TD), []),
    ("<%s@%s>" % (FU, SRV), "<%s@%s>" % (TU, TD), []),
    ("<%s@[%s]>" % (FU, IP), "<%s@[%s]>" % (TU, IP), ["path_iplit"]),
    ("<%s@[%s]>" % (FU, IP), "<%s%%%s@[%s]>" % (TU, TD, IP), ["path_iplit", "path_percent"]),
    ("<%s@[%s]>" % (FU, IP), "<%s%%%s@%s>" % (TU, TD, SRV), ["path_iplit", "path_percent"]),
    ("<%s@[%s]>" % (FU, IP), '<"%s@%s">' % (TU, TD), ["path_iplit", "path_quoted"]),
    ("<%s@[%s]>" % (FU, IP), '<"%s%%%s">' % (TU, TD), ["path_iplit", "path_quoted"]),
    ("<%s@[%s]>" % (FU, IP), "<%s@%s@[%s]>" % (TU, TD, IP), ["path_iplit", "path_multi_at"]),
    ("<%s@[%s]>" % (FU, IP), '<"%s@%s"@[%s]>' % (TU, TD, IP), ["path_iplit", "path_quoted"]),
    ("<%s@[%s]>" % (FU, IP), "<%s@%s@%s>" % (TU, TD, SRV), ["path_iplit", "path_multi_at"]),
    ("<%s@[%s]>" % (FU, IP), "<@[%s]:%s@%s>" % (IP, TU, TD), ["path_iplit", "path_route"]),
    ("<%s@[%s]>" % (FU, IP), "<@%s:%s@%s>" % (SRV, TU, TD), ["path_iplit", "path_route"]),
    ("<%s@[%s]>" % (FU, IP), "<%s!%s>" % (TD, TU), ["path_iplit", "path_bang"]),
    ("<%s@[%s]>" % (FU, IP), "<%s!%s@[%s]>" % (TD, TU, IP), ["path_iplit", "path_bang"]),
    ("<%s@[%s]>" % (FU, IP), "<%s!%s@%s>" % (TD, TU, SRV), ["path_iplit", "path_bang"]),
]

NMAP_PRODUCT = {
    "postfix": r"Postfix smtpd",
    "sendmail": r"Sendmail 8\.17\.1\.9/8\.17\.1\.9/Debian-2\+deb12u2",
    "exim": r"Exim smtpd 4\.96",
}


def mailbox(path):
    """What the envelope's addr holds: the path without <> and route."""
    inner = path[1:-1]
    if inner.startswith("@"):
        inner = inner.split(":", 1)[1]
    return inner


def nmap_forms(t, p, trap, ev):
    """The nmap rhythm on one connection: EHLO, then RSET/MAIL/RCPT x16."""
    with Conn(trap.host, trap.port) as c:
        lport = c.local_port
        r = c.cmd(b"EHLO " + DOM.encode())
        t.is_(code(r), 250, "%s: nmap EHLO" % p)
        bad = []
        for i, (f, to) in enumerate(NMAP_FORMS, 1):
            rs = c.cmd(b"RSET")
            rm = c.cmd(("MAIL FROM:" + f).encode())
            rr = c.cmd(("RCPT TO:" + to).encode())
            if (code(rs) not in (200, 250) or code(rm) != 250
                    or code(rr) not in (250, 251)
                    or any(b"530" in x for x in (rs, rm, rr))):
                bad.append((i, f, to, rs, rm, rr))
        t.ok(not bad, "%s: all 16 nmap relay forms accepted (MAIL 250, RCPT 250)" % p,
             "\n".join(repr(b) for b in bad))
        r = c.cmd(b"QUIT")
        t.is_(code(r), 221, "%s: QUIT after the nmap forms" % p)
    sess = ev.find_session(lambda s: client_port(s) == lport, 20,
                           "%s: nmap-forms session" % p)
    tr = "\n".join(sess.get("transcript") or [])
    missing = [to for f, to in NMAP_FORMS if ("C: RCPT TO:" + to) not in tr]
    t.ok(not missing, "%s: session transcript records all 16 RCPT forms" % p,
         "missing: %r\ntranscript tail:\n%s" % (missing, tr[-1500:]))
    want = ["path_percent", "path_quoted", "path_multi_at", "path_route",
            "path_bang", "path_iplit"]
    t.ok(all(finding(sess, w) >= 1 for w in want),
         "%s: session findings name the relay-test forms" % p,
         sess.get("findings"))
    t.ok(sess.get("messages") in ([], None) and sess.get("close") == "quit",
         "%s: nmap-forms session has no message and closed by quit" % p,
         (sess.get("messages"), sess.get("close")))


def msf_forms(t, p, trap, ev):
    """Metasploit: a new connection per test, EHLO X, MAIL, RCPT, DATA,
    random letters, dot; every dot reply contains 250."""
    bad, sent = [], []
    for i, (f, to, _) in enumerate(MSF_FORMS, 1):
        body = "".join(random.choice(string.ascii_letters)
                       for _ in range(random.randint(5, 14)))
        with Conn(trap.host, trap.port) as c:
            rs = [c.cmd(b"EHLO X"), c.cmd(("MAIL FROM:" + f).encode()),
                  c.cmd(("RCPT TO:" + to).encode()), c.cmd(b"DATA"),
                  c.cmd((body + "\r\n.").encode())]
            sent.append((c.local_port, body))
            c.cmd(b"QUIT")
        if [code(x) for x in rs] != [250, 250, 250, 354, 250]:
            bad.append((i, f, to, rs))
    t.ok(not bad, "%s: all 16 Metasploit relay tests queued (250 after the dot)" % p,
         "\n".join(repr(b) for b in bad))
    wrong = []
    for (lport, body), (f, to, finds) in zip(sent, MSF_FORMS):
        try:
            e = ev.find(lambda x: client_port(x) == lport, 20,
                        "Metasploit message from port %d" % lport)
        except TimeoutError as ex:
            wrong.append((to, str(ex)))
            continue
        got = (e["mail_from"]["raw"], e["mail_from"]["addr"],
               [r["raw"] for r in e["rcpt"]], [r["addr"] for r in e["rcpt"]],
               ev.cat(e["id"]))
        want = ("FROM:" + f, mailbox(f), ["TO:" + to], [mailbox(to)],
                (body + "\r\n").encode())
        if got != want:
            wrong.append(("got", got, "want", want))
        miss = [n for n in finds if finding(e, n) < 1]
        if miss:
            wrong.append((to, "findings lack", miss, e.get("findings")))
    t.ok(not wrong, "%s: envelopes record each Metasploit form, body exact, findings" % p,
         "\n".join(repr(w) for w in wrong))


def nmap_relay(t, p, trap, nmap):
    r = run([nmap, "-Pn", "-n", "-p", str(trap.port), "--script",
             "+smtp-open-relay", "127.0.0.1"], timeout=120)
    out = r.stdout.decode(errors="replace")
    t.ok(r.returncode == 0 and "Server is an open relay (16/16 tests)" in out,
         "%s: nmap smtp-open-relay: open relay (16/16 tests)" % p, out)


def nmap_version(t, p, trap, nmap):
    r = run([nmap, "-sV", "-Pn", "-n", "-p", str(trap.port), "127.0.0.1"],
            timeout=120)
    out = r.stdout.decode(errors="replace")
    rx = r"(?m)^%d/tcp\s+open\s+smtp\s+%s" % (trap.port, NMAP_PRODUCT[p])
    t.ok(r.returncode == 0 and re.search(rx, out),
         "%s: nmap -sV identifies %s" % (p, NMAP_PRODUCT[p].replace("\\", "")), out)


def persona(t, p, nmap):
    with Trap(t, options=persona_opts(p)) as trap:
        ev = Evidence(trap)
        guard(t, p + " nmap forms", nmap_forms, t, p, trap, ev)
        guard(t, p + " metasploit forms", msf_forms, t, p, trap, ev)
        if nmap:
            guard(t, p + " nmap smtp-open-relay", nmap_relay, t, p, trap, nmap)
            guard(t, p + " nmap -sV", nmap_version, t, p, trap, nmap)
        else:
            t.skip("%s: nmap smtp-open-relay" % p, "nmap not installed")
            t.skip("%s: nmap -sV" % p, "nmap not installed")


def main():
    t = Tap()
    need_binaries(t)
    nmap = tool("nmap")
    for p in ("postfix", "sendmail", "exim"):
        guard(t, p + " trap", persona, t, p, nmap)
    t.done()


if __name__ == "__main__":
    main()
