#!/usr/bin/env python3
"""Random BDAT sessions sent side by side to a real Postfix and to the
trap; every reply must be the same (queue ids and the EHLO lines for TLS
and AUTH, which the trap offers, aside). Not part of make check: it needs
a running Postfix with CHUNKING on (Debian 12's postfix 3.7.11 with
../shared/peers/postfix and myhostname = mail.example.net, smtpd_banner =
$myhostname ESMTP $mail_name (Debian/GNU), smtpd_helo_required = no) and
a trap with the Postfix persona and hostname mail.example.net.

    bdat_vs_postfix.py POSTFIX_PORT TRAP_PORT [SEED] [SESSIONS]

Loopback only. "BDAT 0" without LAST is left out of the random sessions:
postfix 3.7.11's smtpd dies of SIGSEGV on MAIL, RCPT, BDAT 0, BDAT 1 LAST,
BDAT 2 (and its master then throttles the service for a minute); the
cases around it are in tests/integration/test_bdat.py."""
import random
import re
import socket
import sys


def run(port, script):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(5)
    f = s.makefile("rb")
    f.readline()
    out = []
    for data, n in script:
        try:
            s.sendall(data)
        except OSError:
            out.append("CLOSED")
            break
        for _ in range(n):
            r = []
            try:
                while True:
                    l = f.readline()
                    if not l:
                        r.append("CLOSED")
                        break
                    r.append(l.decode(errors="replace").rstrip("\r\n"))
                    if l[3:4] != b"-":
                        break
            except OSError:
                r.append("CLOSED")
            out.append(" | ".join(r))
            if r and r[-1] == "CLOSED":
                s.close()
                return out
    s.close()
    return out


def norm(x):
    x = re.sub(r"queued as [0-9A-Z]+", "queued as Q", x)
    return x.replace("250-STARTTLS | 250-AUTH PLAIN LOGIN CRAM-MD5 | ", "")


def gen(rng):
    sc = [(b"EHLO x\r\n", 1)] if rng.random() < 0.8 else []
    for _ in range(rng.randint(1, 10)):
        k = rng.random()
        if k < 0.15:
            sc.append((b"MAIL FROM:<a@b.example>\r\n", 1))
        elif k < 0.3:
            sc.append((b"RCPT TO:<c@d.example>\r\n", 1))
        elif k < 0.38:
            sc.append((b"RSET\r\n", 1))
        elif k < 0.42:
            sc.append((b"NOOP\r\n", 1))
        elif k < 0.45:
            sc.append((b"HELO y\r\n", 1))
        elif k < 0.48:
            sc.append((b"DATA\r\n", 1))
            if rng.random() < 0.5:
                sc.append((b"x\r\n.\r\n", 1))
        else:
            n = rng.choice([0, 0, 1, 2, 3, 5, 17])
            body = bytes(rng.choice(b"ab\r\n.") for _ in range(n))
            last = rng.random() < 0.4 or n == 0
            sc.append((b"BDAT %d%s\r\n" % (n, b" LAST" if last else b"")
                       + body, 1))
    sc.append((b"QUIT\r\n", 1))
    return sc


def compare(gen, argv):
    """argv: POSTFIX_PORT TRAP_PORT [SEED] [SESSIONS]; sends gen(rng)'s
    sessions to both, prints the first differing reply of each session
    that differs, returns the exit status (1 if any differs)."""
    pf, rt = int(argv[0]), int(argv[1])
    rng = random.Random(int(argv[2]) if len(argv) > 2 else 1)
    total = int(argv[3]) if len(argv) > 3 else 400
    bad = 0
    for i in range(total):
        sc = gen(rng)
        a = [norm(x) for x in run(pf, sc)]
        b = [norm(x) for x in run(rt, sc)]
        if a == b:
            continue
        bad += 1
        for (d, _), x, y in zip(sc, a + [""] * 30, b + [""] * 30):
            if x != y:
                print("session %d: %r\n  postfix: %s\n  trap:    %s"
                      % (i, d[:60], x, y))
                break
    print("%d of %d sessions differ" % (bad, total))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(compare(gen, sys.argv[1:]))
