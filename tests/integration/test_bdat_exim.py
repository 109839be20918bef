#!/usr/bin/env python3
"""CHUNKING (RFC 3030) and PRDR with the Exim persona, which advertises
them as Debian 12's exim 4.96 does (PIPECONNECT, CHUNKING and PRDR in
its EHLO). Every reply below is what a real exim 4.96 (Debian's
settings: prdr_enable, CHUNKING and PIPECONNECT to all, no SMTPUTF8;
open relay) answered when the same bytes were sent to it side by side;
queue ids are matched by pattern. Exim reads a chunk only when it takes
the BDAT command: after HELO or without a number the chunk's bytes are
commands. Between chunks only BDAT, NOOP, RSET and QUIT are taken. Where
exim 4.96 dies (RSET between chunks: SIGSEGV) the trap answers it."""
import os
import socket
import sys
sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap  # noqa: E402
from protolib import Conn, ehlo_keywords, persona_opts, guard  # noqa: E402
from protolib import need_binaries  # noqa: E402
from storelib import Spool  # noqa: E402
from test_bdat import run_case  # noqa: E402

E = b"EHLO client.example\r\n"
M = b"MAIL FROM:<a@b.example>\r\n"
MP = b"MAIL FROM:<a@b.example> PRDR\r\n"
R = b"RCPT TO:<x@y.example>\r\n"
R2 = b"RCPT TO:<x2@y.example>\r\n"
OK = "250 OK"
ACC = "250 Accepted"
PRDR_OK = "250 OK, PRDR Requested"
NEED_RCPT = "503 valid RCPT command must precede BDAT"
ONLY_BDAT = "503 only BDAT permissible after non-LAST BDAT"
ONLY_RSET = "503 only RSET accepted now"
TOO_MANY = "503 Too many syntax or protocol errors"
LOST = "421 Lost incoming connection"
BYE = "221 mail.example.net closing connection"
PRDR_END = ["353 PRDR content analysis beginning",
            "250 PRDR R=<x@y.example> acceptance",
            "250 PRDR R=<x2@y.example> acceptance",
            "250 id=QID message accepted"]
MSG = b"Subject: x\r\n\r\nhello\r\n"


def chunk(n):
    return "250 %d byte chunk received" % n


def total(n, t):
    return "250- %d byte chunk, total %d\r\n250 OK id=QID" % (n, t)


HEAD = [(E, None), (M, [OK]), (R, [ACC])]
# (name, [(bytes sent, [replies wanted]), ...], closes at the end,
#  the stored message or None)
CASES = [
    ("two chunks", HEAD + [(b"BDAT 5\r\nabcde", [chunk(5)]),
                           (b"BDAT 3 LAST\r\nfgh", [total(3, 11)]),
                           (b"QUIT\r\n", [BYE])], True, b"abcdefgh"),
    ("a message in one chunk", HEAD + [
        (b"BDAT 21 LAST\r\n" + MSG, [total(21, 21)])], False, MSG),
    ("PRDR, two recipients, BDAT", [
        (E, None), (MP, [PRDR_OK]), (R, [ACC]), (R2, [ACC]),
        (b"BDAT 5 LAST\r\nabcde", PRDR_END)], False, b"abcde"),
    ("PRDR, two recipients, DATA", [
        (E, None), (MP, [PRDR_OK]), (R, [ACC]), (R2, [ACC]),
        (b"DATA\r\n", ['354 Enter message, ending with "." on a line by '
                       'itself']),
        (MSG + b".\r\n", PRDR_END)], False, MSG),
    ("PRDR, one recipient", [
        (E, None), (MP, [PRDR_OK]), (R, [ACC]),
        (b"BDAT 5 LAST\r\nabcde", [total(5, 8)])], False, b"abcde"),
    ("MAIL parameters", [
        (E, None), (b"MAIL FROM:<a@b.example> SMTPUTF8\r\n",
                    ["501 SMTPUTF8 used when not advertised"]),
        (b"MAIL FROM:<a@b.example> PRDR=yes\r\n", [PRDR_OK]),
        (b"RSET\r\n", ["250 Reset OK"]),
        (b"MAIL FROM:<a@b.example> prdr\r\n", [PRDR_OK])], False, None),
    ("PRDR after HELO", [
        (b"HELO client.example\r\n", None), (MP, [
            "501 <a@b.example> PRDR: malformed address: PRDR may not "
            "follow <a@b.example> "])], False, None),
    ("BDAT without MAIL: flushed; a bad one: not", [
        (E, None), (b"BDAT 5\r\nabcde", [NEED_RCPT]), (M, [OK]),
        (b"BDAT 5\r\nNOOP\r\n", [NEED_RCPT, "500 unrecognized command"]),
        (b"BDAT\r\n", ["501-missing size for BDAT command\r\n"
                       "501 Too many syntax or protocol errors"])],
     True, None),
    ("a wrong command between chunks", HEAD + [
        (b"BDAT 3\r\nabc", [chunk(3)]), (M, [ONLY_BDAT]),
        (b"DATA\r\n", [ONLY_RSET]), (b"BDAT 3 LAST\r\ndef", [ONLY_RSET]),
        (b"QUIT\r\n", ["503-only RSET accepted now\r\n" + TOO_MANY, LOST])],
     True, None),
    ("BDAT after HELO", [
        (b"HELO client.example\r\n", None), (M, [OK]), (R, [ACC]),
        (b"BDAT 3\r\nabc", ["503 BDAT command used when CHUNKING not "
                            "advertised"]),
        (b"QUIT\r\n", ["500 unrecognized command"])], False, None),
    ("a zero chunk between chunks", HEAD + [
        (b"BDAT 3\r\nabc", [chunk(3)]),
        (b"BDAT 0\r\n", ["504 zero size for BDAT command"]),
        (b"NOOP\r\n", [ONLY_RSET]),
        # exim 4.96 dies here (SIGSEGV); the trap answers as Exim means to
        (b"RSET\r\n", ["250 Reset OK"]), (b"NOOP\r\n", [OK])], False, None),
    ("not LAST, LAST in lower case", HEAD + [
        (b"BDAT 3 junk\r\nabc", [chunk(3)]),
        (b"BDAT 2 last\r\nde", [total(2, 8)])], False, b"abcde"),
    ("BDAT 0 first", HEAD + [
        (b"BDAT 0\r\n", [chunk(0)]),
        (b"BDAT 2 LAST\r\nde", [total(2, 5)]),
        (b"BDAT 0 LAST\r\n", [NEED_RCPT])], False, b"de"),
    ("past the error limit between chunks", [
        (E, None), (b"FOO\r\n", ["500 unrecognized command"]),
        (b"BAR\r\n", ["500 unrecognized command"]),
        (b"BAZ\r\n", ["500 unrecognized command"])] + HEAD[1:] + [
        (b"BDAT 3\r\nabc", [chunk(3)]),
        (b"DATA\r\n", ["503-only BDAT permissible after non-LAST BDAT\r\n"
                       + TOO_MANY]),
        (b"NOOP\r\n", ["503-only RSET accepted now\r\n" + TOO_MANY, LOST])],
     True, None),
    ("QUIT between chunks", HEAD + [
        (b"BDAT 3\r\nabc", [chunk(3)]), (b"QUIT\r\n", [BYE, LOST])],
     True, None),
    ("arguments between chunks", HEAD + [
        (b"BDAT 3\r\nabc", [chunk(3)]), (b"RSET x\r\n", [ONLY_BDAT]),
        (b"NOOP x\r\n", [ONLY_RSET]), (b"QUIT x\r\n", [ONLY_RSET]),
        (b"QUIT\r\n", [BYE, LOST])], True, None),
    ("NOOP between chunks", HEAD + [
        (b"BDAT 3\r\nabc", [chunk(3)]), (b"NOOP x\r\n", [OK]),
        (b"BDAT 3 LAST\r\ndef", [total(3, 9)])], False, b"abcdef"),
    ("pipelined", [(E + M + R + b"BDAT 4\r\nab\r\nBDAT 3 LAST\r\ncd\n" +
                    b"NOOP\r\n", None),
                   (b"", [OK, ACC, chunk(4), total(3, 9), OK])],
     False, b"ab\r\ncd\n"),
]


def check_cases(t, trap):
    for name, steps, closes, stored in CASES:
        guard(t, name, run_case, t, trap, name, steps, closes, stored,
              False, "Exim")
    for i in (0, len(CASES) - 1):
        name, steps, closes, stored = CASES[i]
        guard(t, name, run_case, t, trap, name, steps, closes, stored,
              True, "Exim")


def check_record(t, trap):
    """The envelope says PRDR and how many chunks."""
    env = run_case(t, trap, *CASES[2][:4], real="Exim")
    mf = (env or {}).get("mail_from") or {}
    t.ok(env is not None and mf.get("prdr") is True and
         env.get("chunks") == 1, "envelope: mail_from prdr, chunks 1",
         env and (mf, env.get("chunks")))


def check_ehlo(t):
    """Exim 4.96 on Debian 12: PIPECONNECT, CHUNKING and PRDR in this
    order around AUTH and STARTTLS."""
    with Trap(t, options=persona_opts("exim")) as trap:
        with Conn(trap.host, trap.port) as c:
            kw = ehlo_keywords(c.cmd(b"EHLO client.example"))[1]
            t.is_([k.split()[0] for k in kw if k != "STARTTLS"],
                  ["SIZE", "8BITMIME", "PIPELINING", "PIPECONNECT", "AUTH",
                   "CHUNKING", "PRDR", "HELP"], "exim: EHLO keywords")
        # PIPECONNECT: a client may say EHLO before the banner
        with Conn(trap.host, trap.port, read_banner=False) as c:
            c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.send(E)
            b = c.reply().decode(errors="replace")
            r = c.reply().decode(errors="replace")
            t.ok(b.startswith("220 ") and r.startswith("250-") and
                 "PIPECONNECT" in r, "EHLO before the banner is answered",
                 (b, r))


def main():
    t = Tap()
    need_binaries(t)
    with Trap(t, options=persona_opts("exim")) as trap:
        guard(t, "cases", check_cases, t, trap)
        guard(t, "record", check_record, t, trap)
    guard(t, "ehlo", check_ehlo, t)
    t.done()


if __name__ == "__main__":
    main()
