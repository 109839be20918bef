#!/usr/bin/env python3
"""CHUNKING (RFC 3030) with the Postfix persona, which advertises it as
Postfix 3.7 does. Every reply below is what a real Debian 12 postfix
3.7.11 (main.cf defaults, CHUNKING on, open relay) answered when the same
bytes were sent to it side by side; queue ids are matched by pattern.
Chunks are stored exactly as sent (no dot-unstuffing), the message after
the LAST chunk; chunks that follow an error are read and discarded, never
taken for commands. No Debian 12 SMTP client that can be installed beside
Postfix sends BDAT (Python's smtplib, swaks and curl do not; Postfix's own
SMTP client does not), so the client here is a raw socket."""
import os
import re
import socket
import sys
sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap  # noqa: E402
from protolib import (Conn, ehlo_keywords, persona_opts, guard,  # noqa: E402
                      need_binaries)
from storelib import Spool, queued_id  # noqa: E402

E = b"EHLO client.example\r\n"
M = b"MAIL FROM:<a@example.org>\r\n"
R = b"RCPT TO:<b@example.com>\r\n"
OK_MAIL = "250 2.1.0 Ok"
OK_RCPT = "250 2.1.5 Ok"
QUEUED = "250 2.0.0 Ok: %d bytes queued as QID"
NEED_RCPT = "503 5.5.1 Error: need RCPT command"
NO_RCPT = "554 5.5.1 Error: no valid recipients"
SYNTAX = "521 5.5.4 Syntax: BDAT count [LAST]"
NULL = "551 5.7.1 Null BDAT request"
TOOBIG = "552 5.3.4 Chunk exceeds message size limit"
MAIL_AFTER = "503 5.5.1 Error: MAIL after BDAT"
RCPT_AFTER = "503 5.5.1 Error: RCPT after BDAT"
DATA_AFTER = "503 5.5.1 Error: DATA after BDAT"
NESTED = "503 5.5.1 Error: nested MAIL command"


def disc(n):
    return "551 5.0.0 Discarded %d bytes after earlier error" % n


def ok(n):
    return "250 2.0.0 Ok: %d bytes" % n


BIG = 10240000      # Postfix's message_size_limit, the persona's
# (name, [(bytes sent, [replies wanted]), ...], closes at the end,
#  the stored message or None)
CASES = [
    ("two chunks", [(E, None), (M, [OK_MAIL]), (R, [OK_RCPT]),
                    (b"BDAT 10\r\n0123456789", [ok(10)]),
                    (b"BDAT 5 LAST\r\nabcde", [QUEUED % 17])],
     False, b"0123456789abcde"),
    ("BDAT 0 LAST ends the message", [(E, None), (M, None), (R, None),
                                      (b"BDAT 4\r\nab\r\n", [ok(4)]),
                                      (b"BDAT 0 LAST\r\n", [QUEUED % 4])],
     False, b"ab\r\n"),
    ("an empty message", [(E, None), (M, None), (R, None),
                          (b"BDAT 0 LAST\r\n", [QUEUED % 0]),
                          (b"NOOP\r\n", ["250 2.0.0 Ok"])], False, b""),
    ("BDAT 0 without LAST", [(E, None), (M, None), (R, None),
                             (b"BDAT 0\r\n", [NULL]),
                             (b"NOOP\r\n", ["250 2.0.0 Ok"]),
                             (b"RCPT TO:<c@d>\r\n", [RCPT_AFTER]),
                             (b"BDAT 3 LAST\r\nabc", [disc(3)]),
                             (M, [OK_MAIL])], False, None),
    ("BDAT without MAIL", [(E, None), (b"BDAT 5\r\nabcde", [NEED_RCPT]),
                           (b"NOOP\r\n", ["250 2.0.0 Ok"]),
                           (b"BDAT 3 LAST\r\nxyz", [disc(3)]),
                           (b"NOOP\r\n", ["250 2.0.0 Ok"]),
                           (b"BDAT 3 LAST\r\nxyz", [NEED_RCPT]),
                           (b"BDAT 3 LAST\r\nxyz", [NEED_RCPT])], False, None),
    ("BDAT without RCPT", [(E, None), (M, None),
                           (b"BDAT 5\r\nabcde", [NO_RCPT]),
                           (M, [NESTED]), (b"RCPT TO:<c@d>\r\n", [RCPT_AFTER]),
                           (b"BDAT 3 LAST\r\nxyz", [disc(3)]),
                           (M, [OK_MAIL])], False, None),
    ("an error, then RSET", [(E, None), (b"BDAT 3\r\nabc", [NEED_RCPT]),
                             (b"RSET\r\n", ["250 2.0.0 Ok"]),
                             (b"BDAT 3\r\nabc", [NEED_RCPT])], False, None),
    ("MAIL, RCPT and DATA after a chunk", [
        (E, None), (M, None), (R, None), (b"BDAT 3\r\nabc", [ok(3)]),
        (M, [NESTED]), (R, [RCPT_AFTER]), (b"DATA\r\n", [DATA_AFTER]),
        (b"RSET\r\n", ["250 2.0.0 Ok"]), (M, [OK_MAIL]), (R, [OK_RCPT]),
        (b"BDAT 2 LAST\r\nhi", [QUEUED % 4])], False, b"hi"),
    ("pipelined", [(E, None), (M + R + b"BDAT 3\r\nabcBDAT 4\r\ndefgBDAT 2 "
                               b"LAST\r\nhiQUIT\r\n",
                               [OK_MAIL, OK_RCPT, ok(3), ok(4), QUEUED % 11,
                                "221 2.0.0 Bye"])], True, b"abcdefghi"),
    ("after HELO", [(b"HELO x\r\n", ["250 mail.example.net"]), (M, None),
                    (R, None), (b"BDAT 3 LAST\r\nabc", [QUEUED % 5])],
     False, b"abc"),
    ("without HELO", [(M, [OK_MAIL]), (R, [OK_RCPT]),
                      (b"BDAT 3 LAST\r\nabc", [QUEUED % 5])], False, b"abc"),
    ("spaces, case, zeros", [(E, None), (M, None), (R, None),
                             (b"bdat  003  last \r\nabc", [QUEUED % 5])],
     False, b"abc"),
    ("HELO between chunks ends the message", [
        (E, None), (M, None), (R, None), (b"BDAT 2\r\nab", [ok(2)]),
        (b"VRFY x\r\n", ["252 2.0.0 x"]), (b"HELO y\r\n", None),
        (b"BDAT 2 LAST\r\ncd", [NEED_RCPT])], False, None),
    ("DATA's terminator is only content in a chunk", [
        (E, None), (M, None), (R, None),
        (b"BDAT 12 LAST\r\nab\r\n.\r\ncd\r\n.", [QUEUED % 14])],
     False, b"ab\r\n.\r\ncd\r\n."),
    ("BDAT inside DATA is only content", [
        (E, None), (M, None), (R, None),
        (b"DATA\r\n", ["354 End data with <CR><LF>.<CR><LF>"]),
        (b"BDAT 3\r\nabc\r\n.\r\n", ["250 2.0.0 Ok: queued as QID"])],
     False, b"BDAT 3\r\nabc\r\n"),
    ("bare LF and a long line: Postfix's count", [
        (E, None), (M, None), (R, None),
        (b"BDAT 2056 LAST\r\na\nb\r\nc" + b"z" * 2048 + b"\r\n",
         [QUEUED % 2059])], False, b"a\nb\r\nc" + b"z" * 2048 + b"\r\n"),
    ("a chunk over the limit", [
        (E, None), (M, None), (R, None),
        (b"BDAT %d\r\n" % (BIG + 1) + b"x" * (BIG + 1), [TOOBIG]),
        (b"NOOP\r\n", ["250 2.0.0 Ok"]),
        (b"BDAT 3 LAST\r\nabc", [disc(3)]), (b"RSET\r\n", ["250 2.0.0 Ok"])],
     False, None),
    ("two chunks over the limit", [
        (E, None), (M, None), (R, None),
        (b"BDAT 6000000\r\n" + b"y" * 6000000, [ok(6000000)]),
        (b"BDAT 6000000 LAST\r\n" + b"y" * 6000000, [TOOBIG]),
        (M, [OK_MAIL])], False, None),
]
CASES += [
    ("MAIL, RCPT and DATA while chunks are discarded", [
        (E, None), (b"BDAT 1\r\nx", [NEED_RCPT]), (b"VRFY a\r\n", ["252 2.0.0 a"]),
        (M, [MAIL_AFTER]), (b"DATA\r\n", [DATA_AFTER]),
        (b"RCPT TO:<c@d>\r\n", ["503 5.5.1 Error: need MAIL command"]),
        (b"HELO y\r\n", None), (M, [OK_MAIL])], False, None),
    ("BDAT 0 is refused before anything else", [
        (E, None), (b"BDAT 0\r\n", [NULL]), (b"BDAT 3 LAST\r\nabc", [disc(3)]),
        (M, [OK_MAIL]), (b"BDAT 0\r\n", [NULL]), (R, [RCPT_AFTER]),
        (b"DATA\r\n", [DATA_AFTER]), (b"RSET\r\n", ["250 2.0.0 Ok"]),
        (M, [OK_MAIL]), (R, [OK_RCPT]), (b"BDAT 0\r\n", [NULL]),
        (b"BDAT 0\r\n", [NULL]), (b"BDAT 0 LAST\r\n", [disc(0)]),
        (M, [OK_MAIL])], False, None),
    ("a LAST chunk without RCPT ends the transaction", [
        (E, None), (M, None), (b"BDAT 1 LAST\r\nb", [NO_RCPT]), (M, [OK_MAIL]),
        (b"BDAT 0 LAST\r\n", [NO_RCPT]), (b"BDAT 5\r\nbb.\r\n", [NEED_RCPT])],
     False, None),
    ("BDAT 0 in the middle of a message", [
        (E, None), (M, None), (R, None), (b"BDAT 3\r\nabc", [ok(3)]),
        (b"BDAT 0\r\n", [NULL]), (b"BDAT 2 LAST\r\nhi", [disc(2)]),
        (M, [OK_MAIL])], False, None),
]
for arg in (b"", b" x", b" 5 FOO", b" -1", b" +3 LAST",
            b" 99999999999999999999", b" 3 LAST X"):
    CASES.append(("syntax: BDAT%s" % arg.decode(), [
        (E, None), (M, None), (R, None),
        (b"BDAT" + arg + b"\r\n", [SYNTAX])], True, None))


def match(got, want):
    if "QID" not in want:
        return got == want
    return re.fullmatch(re.escape(want).replace("QID", "[0-9A-Za-z-]+"),
                        got) is not None


def run_case(t, trap, name, steps, closes, stored, bytewise=False,
             real="Postfix"):
    """Send the steps (whole, or one byte per send); check every reply,
    the hang-up, and the stored message."""
    with Conn(trap.host, trap.port) as c:
        c.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        how = " (one byte per write)" if bytewise else ""
        last = b""
        for data, want in steps:
            if bytewise:
                for i in range(len(data)):
                    c.send(data[i:i + 1])
            else:
                c.send(data)
            n = 1 if want is None else len(want)
            got = [c.reply().decode(errors="replace").rstrip("\r\n")
                   for _ in range(n)]
            if want is not None:
                t.ok(len(got) == len(want) and
                     all(match(g, w) for g, w in zip(got, want)),
                     "as real %s: %s%s: %r" % (real, name, how, data[:40]),
                     "got %r\nwant %r" % (got, want))
            for g in got:
                if "queued as" in g or " id=" in g or \
                        g.startswith("250 id="):
                    last = g.encode()
        if closes:
            t.ok(c.wait_eof(10) == b"", "%s%s: the trap hangs up" % (name,
                                                                    how))
    if stored is not None:
        qid = queued_id(last)
        env = Spool(trap).by_queue_id().get(qid) if qid else None
        t.ok(env is not None and Spool(trap).cat(env["id"]) == stored,
             "%s%s: queue cat gives the chunks as sent" % (name, how),
             "qid %r env %r" % (qid, env and env.get("id")))
        return env
    return None


def check_cases(t, trap):
    for name, steps, closes, stored in CASES:
        guard(t, name, run_case, t, trap, name, steps, closes, stored)
    # the same bytes one at a time: chunk ends inside any read
    name, steps, closes, stored = CASES[8]          # pipelined
    guard(t, name, run_case, t, trap, name, steps, closes, stored, True)
    name, steps, closes, stored = CASES[0]
    guard(t, name, run_case, t, trap, name, steps, closes, stored, True)


def check_record(t, trap):
    """The envelope says how many chunks; the findings count them; a bare
    LF in a chunk is found as in DATA."""
    name, steps, closes, stored = CASES[15]
    env = run_case(t, trap, name, steps, closes, stored)
    t.ok(env is not None and env.get("chunks") == 1,
         "envelope: chunks 1", env and env.get("chunks"))
    f = (env or {}).get("findings") or {}
    t.ok(f.get("bdat_chunk") == 1 and f.get("bare_lf") == 1,
         "envelope findings: bdat_chunk 1, bare_lf 1", f)
    env = run_case(t, trap, *CASES[0][:4])
    t.ok(env is not None and env.get("chunks") == 2 and
         "C: <BDAT 10 bytes>" in (env.get("transcript") or []),
         "two chunks: chunks 2 and each chunk's size in the transcript",
         env and env.get("transcript"))


def check_ehlo(t):
    """Postfix says CHUNKING last, as REFERENCE.md 2.3 shows; Sendmail
    8.17 has no CHUNKING."""
    for p, want in (("postfix", True), ("sendmail", False)):
        with Trap(t, options=persona_opts(p)) as trap:
            with Conn(trap.host, trap.port) as c:
                kw = ehlo_keywords(c.cmd(b"EHLO client.example"))[1]
                t.is_("CHUNKING" in kw, want, "%s: CHUNKING in EHLO: %s"
                      % (p, want))
                if p == "postfix":
                    t.is_(kw[-1], "CHUNKING", "postfix: CHUNKING comes last")


def check_timeout(t):
    """A chunk that stops coming: timeout_data, 421, nothing stored."""
    with Trap(t, options=persona_opts("postfix", timeout_data=1,
                                      timeout_idle=30)) as trap:
        with Conn(trap.host, trap.port) as c:
            for d in (E, M, R):
                c.send(d)
                c.reply()
            c.send(b"BDAT 10 LAST\r\nabc")
            r = c.reply(timeout=10).decode(errors="replace")
            t.ok(r.startswith("421 4.4.2 mail.example.net Error: timeout "
                              "exceeded"), "a stalled chunk: 421 after "
                 "timeout_data", r)
            t.ok(c.wait_eof(10) == b"", "and the hang-up")
        t.is_(Spool(trap).ids(), [], "the unfinished chunked message is "
              "not stored")


def main():
    t = Tap()
    need_binaries(t)
    with Trap(t, options=persona_opts("postfix")) as trap:
        guard(t, "cases", check_cases, t, trap)
        guard(t, "record", check_record, t, trap)
    guard(t, "ehlo", check_ehlo, t)
    guard(t, "timeout", check_timeout, t)
    t.done()


if __name__ == "__main__":
    main()
