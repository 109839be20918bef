#!/usr/bin/env python3
"""Random MAIL and RCPT addresses made of the bytes that matter to an RFC
822 reader (quotes, brackets, parentheses, backslashes, commas,
semicolons, colons, blanks, '@', '.', '%', '!') sent side by side to a
real Postfix and to the trap (Postfix persona); prints the commands
whose replies differ. Not part of make check; needs the two servers of
bdat_vs_postfix.py (same set-up).

    addr_vs_postfix.py POSTFIX_PORT TRAP_PORT [SEED] [SESSIONS]"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bdat_vs_postfix import compare  # noqa: E402

PIECES = [b"a", b"b", b"d.example", b"@", b".", b"<", b">", b'"', b"(",
          b")", b"[", b"]", b"\\", b",", b";", b":", b" ", b"%", b"!",
          b"[192.0.2.1]", b"x y", b"@e.example", b"\t"]


def addr(rng):
    body = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 7)))
    k = rng.random()
    if k < 0.7:
        return b"<" + body + b">"
    if k < 0.8:
        return b"<" + body
    return body


def gen(rng):
    sc = [(b"EHLO x\r\n", 1)]
    # Postfix hangs up after 20 errors: a few commands per session
    for _ in range(rng.randint(1, 6)):
        sc.append((b"MAIL FROM:" + addr(rng) + b"\r\n", 1))
        sc.append((b"RCPT TO:" + addr(rng) + b"\r\n", 1))
        sc.append((b"RSET\r\n", 1))
    sc.append((b"QUIT\r\n", 1))
    return sc


if __name__ == "__main__":
    sys.exit(compare(gen, sys.argv[1:]))
