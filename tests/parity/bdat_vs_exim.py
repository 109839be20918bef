#!/usr/bin/env python3
"""Random BDAT and PRDR sessions sent side by side to a real Exim and to
the trap; every reply must be the same (queue ids and dates aside). Not
part of make check: it needs a running exim 4.96 with Debian's settings
(CHUNKING and PIPECONNECT to all hosts, prdr_enable, no SMTPUTF8, an
open-relay rcpt ACL, primary_hostname mail.example.net, the PLAIN, LOGIN
and CRAM-MD5 authenticators the trap offers) and a trap with the Exim
persona and hostname mail.example.net.

    bdat_vs_exim.py EXIM_PORT TRAP_PORT [SEED] [SESSIONS]

Replies are read until the server is quiet for QUIET seconds (after the
first, which may take up to FIRST seconds), since their number per
command varies (PRDR, the 421 after QUIT between chunks).
Loopback only. Counted apart, not as differences: a session where exim
4.96 drops the connection after RSET or a BDAT without a number between
chunks (its smtpd dies of SIGSEGV there; the trap answers), and one where
it ends the session with "554 SMTP synchronization error" for lines sent
together without PIPELINING offered (after HELO): the trap records that
as the finding pipelining_without_extension and goes on, so as not to
lose what such a client sends; and one where exim refuses a chunked
message for a bare LF in its header ("552 Message header not CRLF
terminated"), which the trap stores with the finding bare_lf."""
import random
import re
import socket
import sys

QUIET = 0.15
FIRST = 3


def replies(s):
    """Every command here gets a reply: wait up to FIRST seconds for it
    (exim takes its time over QUIT), then until QUIET"""
    buf = b""
    s.settimeout(FIRST)
    while True:
        try:
            d = s.recv(65536)
            s.settimeout(QUIET)
        except socket.timeout:
            break
        except OSError:
            d = b""
        if not d:
            buf += b"CLOSED\r\n"
            break
        buf += d
    return [x.decode(errors="replace") for x in buf.split(b"\r\n") if x]


def run(port, script):
    s = socket.create_connection(("127.0.0.1", port))
    out = [replies(s)]
    for data in script:
        try:
            s.sendall(data)
        except OSError:
            out.append(["CLOSED"])
            break
        r = replies(s)
        out.append(r)
        if r and r[-1] == "CLOSED":
            break
    s.close()
    return out


def norm(lines):
    x = " | ".join(lines)
    x = re.sub(r"id=[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}", "id=Q", x)
    return re.sub(r"Exim 4\.96 .*? \+0000", "Exim 4.96 DATE", x)


def gen(rng):
    sc = [b"EHLO x\r\n"] if rng.random() < 0.85 else [b"HELO x\r\n"]
    for _ in range(rng.randint(1, 10)):
        k = rng.random()
        if k < 0.15:
            sc.append(b"MAIL FROM:<a@b.example>%s\r\n" %
                      (b" PRDR" if rng.random() < 0.4 else b""))
        elif k < 0.32:
            sc.append(rng.choice([b"RCPT TO:<c@d.example>\r\n",
                                  b"RCPT TO:<e@f.example>\r\n"]))
        elif k < 0.37:
            sc.append(b"RSET\r\n")
        elif k < 0.42:
            sc.append(rng.choice([b"NOOP\r\n", b"NOOP x\r\n"]))
        elif k < 0.45:
            sc.append(rng.choice([b"FOO\r\n", b"DATA\r\n", b"BDAT\r\n",
                                  b"BDAT x\r\n"]))
        elif k < 0.48:
            sc.append(b"DATA\r\n")
            if rng.random() < 0.5:
                sc.append(b"Subject: x\r\n\r\nhi\r\n.\r\n")
        else:
            n = rng.choice([0, 0, 1, 2, 3, 5, 17])
            body = bytes(rng.choice(b"ab:\r\n. ") for _ in range(n))
            last = rng.choice([b"", b"", b" LAST", b" last", b" junk"])
            sc.append(b"BDAT %d%s\r\n" % (n, last) + body)
    if rng.random() < 0.9:
        sc.append(b"QUIT\r\n")
    return sc


def crash(script, real):
    """exim 4.96 died: the connection dropped, nothing said, after RSET or
    a BDAT without a number"""
    for d, r in zip(script, real[1:]):
        if r == ["CLOSED"]:
            return d in (b"RSET\r\n", b"BDAT\r\n", b"BDAT x\r\n")
    return False


def main(argv):
    ex, rt = int(argv[0]), int(argv[1])
    rng = random.Random(int(argv[2]) if len(argv) > 2 else 1)
    total = int(argv[3]) if len(argv) > 3 else 100
    bad = crashed = sync = lf = 0
    for i in range(total):
        sc = gen(rng)
        real = run(ex, sc)
        a = [norm(x) for x in real]
        b = [norm(x) for x in run(rt, sc)]
        if a == b:
            continue
        if crash(sc, real):
            crashed += 1
            continue
        first = [(d, x, y) for d, x, y in zip([b"(banner)"] + sc,
                 a + [""] * 30, b + [""] * 30) if x != y][0]
        if first[1] == "554 SMTP synchronization error | CLOSED":
            sync += 1
            continue
        if first[1] == "552 Message header not CRLF terminated":
            lf += 1
            continue
        bad += 1
        print("session %d: %r\n  exim: %s\n  trap: %s"
              % (i, first[0][:60], first[1], first[2]))
    print("%d of %d sessions differ (apart: %d where exim 4.96 crashed, "
          "%d with its synchronization error, %d with a bare LF in the "
          "header)" % (bad, total, crashed, sync, lf))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
