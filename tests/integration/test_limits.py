#!/usr/bin/env python3
"""Every limit of relaytrapd at its exact value: cap N allows N, N+1 gets
the persona's refusal; after each the trap still serves a normal message.

Conventions this test pins down (docs: relaytrapd contract):
- max_message_size counts the stored message bytes (DATA after
  dot-unstuffing, final CRLF included) and the MAIL SIZE= value.
- max_line_length counts the command line including its CRLF (RFC 5321
  4.5.3.1.4: "including the command word and the <CRLF>").
"""
import os
import re
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for  # noqa: E402
from storelib import Raw, Spool, code, smtp_send, queued_id  # noqa: E402

NORMAL = (b"From: a@example.org\r\nTo: b@example.com\r\nSubject: after limit\r\n"
          b"\r\nstill serving\r\n")


def still_serves(t, trap, what):
    try:
        c, resp = smtp_send(trap.host, trap.port, NORMAL)
    except Exception as e:  # noqa: BLE001
        c, resp = None, repr(e)
    t.ok(c == 250 and queued_id(resp), "after %s: a normal message gets 250" % what,
         "got %r %r" % (c, resp))


def closed_as(t, trap, port, want, name):
    """The session record of the connection from `port` has close `want`."""
    spool, recs = Spool(trap), {}
    try:
        wait_for(lambda: port in spool.sessions_by_port(recs), 10,
                 what="the session record of port %d" % port)
    except (TimeoutError, RuntimeError) as e:
        t.ok(False, "%s: session recorded with close %s" % (name, want), str(e))
        return
    t.is_(recs[port].get("close"), want, "%s: session recorded with close %s" % (name, want))


def refused_and_closed(t, conn, name, want=421, timeout=5):
    """The next reply is `want` and the server then closes."""
    try:
        r = conn.reply_within(timeout)
    except socket.timeout:
        r = b"<nothing within %ss>" % str(timeout).encode()
    t.ok(code(r) == want, "%s: %d" % (name, want), "got %r" % r)
    closed, rest = conn.wait_eof(timeout)
    t.ok(closed, "%s: connection closed" % name, "still open; extra %r" % rest)
    conn.close()


def admitted(trap):
    c = Raw(trap.host, trap.port)
    if code(c.banner) == 220:
        return c
    c.close()
    return None


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_sessions_cap(t):
    with Trap(t, options={"max_sessions": 3, "max_sessions_per_ip": 100}) as trap:
        # the banner probe of Trap.start is closed; wait until it is counted out
        held = []

        def admitted():
            c = Raw(trap.host, trap.port)
            if code(c.banner) == 220:
                return c
            c.close()           # the start-up probe may not be counted out yet
            return None
        try:
            for i in range(3):
                held.append(wait_for(admitted, 10, what="session %d admitted" % (i + 1)))
            t.ok(True, "max_sessions=3: sessions 1..3 get 220")
            over = Raw(trap.host, trap.port, read_banner=False)
            refused_and_closed(t, over, "max_sessions=3: session 4")
            closed_as(t, trap, over.local_port, "too_many_sessions", "max_sessions")
        finally:
            for c in held:
                c.close()

        # slots free again once the held sessions are gone
        def fresh():
            c = Raw(trap.host, trap.port)
            ok = code(c.banner) == 220
            c.close()
            return ok
        try:
            wait_for(fresh, 10, what="a free session slot")
            t.ok(True, "max_sessions: slot freed after close")
        except TimeoutError as e:
            t.ok(False, "max_sessions: slot freed after close", str(e))
        still_serves(t, trap, "max_sessions")


def test_per_ip_cap(t):
    v6 = ipv6_loopback()
    listeners = ["127.0.0.1:0"] + (["[::1]:0"] if v6 else [])
    with Trap(t, listeners=listeners,
              options={"max_sessions": 100, "max_sessions_per_ip": 2}) as trap:
        held = []
        try:
            for i in range(2):
                held.append(wait_for(lambda: admitted(trap), 10,
                                     what="session %d admitted" % (i + 1)))
            t.ok(True, "max_sessions_per_ip=2: sessions 1..2 from 127.0.0.1 get 220")
            over = Raw(trap.host, trap.port, read_banner=False)
            refused_and_closed(t, over, "max_sessions_per_ip=2: session 3 from 127.0.0.1")
            closed_as(t, trap, over.local_port, "too_many_from_ip", "max_sessions_per_ip")
            if v6:
                other = Raw(trap.addrs[1][0], trap.addrs[1][1])
                t.ok(code(other.banner) == 220,
                     "max_sessions_per_ip: another address (::1) still gets 220",
                     other.banner)
                other.close()
            else:
                t.skip("max_sessions_per_ip: another address", "no IPv6 loopback")
        finally:
            for c in held:
                c.close()
        still_serves(t, trap, "max_sessions_per_ip")


def body_of(n):
    """A message whose stored form is exactly n bytes (n >= 40): short
    lines of x, CRLF-terminated."""
    head = b"Subject: size test\r\n\r\n"
    want = n - len(head) - 2
    fill = ((b"x" * 74 + b"\r\n") * (want // 76 + 1))[:want]
    if fill.endswith(b"\r"):
        fill = fill[:-1] + b"x"
    b = head + fill + b"\r\n"
    assert len(b) == n, (len(b), n)
    return b


def test_message_limits(t):
    cap = 10000
    opts = {"max_message_size": cap, "max_recipients": 5, "max_line_length": 512}
    with Trap(t, options=opts) as trap:
        spool = Spool(trap)
        # SIZE parameter
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO size.example")
        r = c.cmd(b"MAIL FROM:<a@example.org> SIZE=%d" % cap)
        t.ok(code(r) == 250, "max_message_size=%d: MAIL SIZE=%d -> 250" % (cap, cap), r)
        c.cmd(b"RSET")
        r = c.cmd(b"MAIL FROM:<a@example.org> SIZE=%d" % (cap + 1))
        t.ok(code(r) == 552, "max_message_size: MAIL SIZE=%d -> 552" % (cap + 1), r)
        r = c.cmd(b"NOOP")
        t.ok(code(r) == 250, "max_message_size: session goes on after 552 to SIZE", r)
        c.cmd(b"QUIT")
        c.close()

        # actual body
        before = len(spool.ids())
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO size.example")
        for n, want in ((cap, 250), (cap + 1, 552)):
            c.cmd(b"MAIL FROM:<a@example.org>")
            c.cmd(b"RCPT TO:<b@example.com>")
            r = c.cmd(b"DATA")
            if code(r) != 354:
                t.ok(False, "DATA -> 354", r)
                continue
            c.send(body_of(n) + b".\r\n")
            r = c.reply()
            t.ok(code(r) == want, "max_message_size=%d: body of %d bytes -> %d"
                 % (cap, n, want), r)
            if want != 250:
                c.cmd(b"RSET")
        c.cmd(b"MAIL FROM:<a@example.org>")
        c.cmd(b"RCPT TO:<b@example.com>")
        c.cmd(b"DATA")
        c.send(NORMAL + b".\r\n")
        r = c.reply()
        t.ok(code(r) == 250, "max_message_size: same session goes on after 552", r)
        c.cmd(b"QUIT")
        c.close()
        sizes = sorted(spool.show(i).get("size") for i in spool.ids())
        t.is_(len(spool.ids()) - before, 2,
              "max_message_size: only the two messages within the cap are stored")
        t.ok(cap in sizes and cap + 1 not in sizes,
             "max_message_size: stored sizes include %d, not %d" % (cap, cap + 1), sizes)

        # recipients
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO rcpt.example")
        c.cmd(b"MAIL FROM:<a@example.org>")
        rs = [c.cmd(b"RCPT TO:<r%d@example.com>" % i) for i in range(1, 7)]
        t.ok(all(code(x) == 250 for x in rs[:5]),
             "max_recipients=5: RCPT 1..5 -> 250", rs[:5])
        t.ok(code(rs[5]) == 452, "max_recipients=5: RCPT 6 -> 452", rs[5])
        r = c.cmd(b"DATA")
        t.ok(code(r) == 354, "max_recipients: DATA still works", r)
        c.send(NORMAL + b".\r\n")
        r = c.reply()
        t.ok(code(r) == 250, "max_recipients: message accepted", r)
        qid = queued_id(r)
        c.cmd(b"QUIT")
        c.close()
        env = spool.by_queue_id().get(qid) or {}
        t.is_(len(env.get("rcpt") or []), 5, "max_recipients: envelope has 5 recipients")

        # line length (512 including CRLF)
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO line.example")
        at = b"NOOP " + b"x" * (512 - 2 - 5)
        over = b"NOOP " + b"x" * (512 - 2 - 5 + 1)
        r = c.cmd(at)
        t.ok(code(r) == 250, "max_line_length=512: a 512-byte line (with CRLF) is served", r)
        r = c.cmd(over)
        t.ok(code(r) == 500, "max_line_length=512: a 513-byte line -> 500", r)
        r = c.cmd(b"NOOP")
        t.ok(code(r) == 250, "max_line_length: session goes on after 500", r)
        big = c.cmd(b"NOOP " + b"z" * 5000)
        t.ok(code(big) == 500, "max_line_length: a 5000-byte line -> 500 (discarded)", big)
        r = c.cmd(b"NOOP")
        t.ok(code(r) == 250, "max_line_length: rest of a long line is not taken as commands", r)
        c.cmd(b"QUIT")
        c.close()
        still_serves(t, trap, "max_message_size/max_recipients/max_line_length")

    # the recipients' bytes: 1024 of RCPT arguments per message
    with Trap(t, options={"max_recipient_bytes": 1024}) as trap:
        spool = Spool(trap)
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO rcptbytes.example")
        c.cmd(b"MAIL FROM:<a@example.org>")
        # "TO:<" + 241 + "@x.example>" = 256 bytes of argument each
        arg = lambda i: b"TO:<%s@x.example>" % (b"%03d" % i + b"\xe9" * 238)
        rs = [c.cmd(b"RCPT " + arg(i)) for i in range(5)]
        t.ok([code(x) for x in rs] == [250, 250, 250, 250, 452],
             "max_recipient_bytes=1024: four 256-byte RCPT arguments -> 250, "
             "the fifth -> 452", rs)
        r = c.cmd(b"RCPT TO:<short@x.example>")
        t.ok(code(r) == 452, "max_recipient_bytes: a short one after it -> 452 too", r)
        r = c.cmd(b"DATA")
        t.ok(code(r) == 354, "max_recipient_bytes: DATA still works", r)
        c.send(NORMAL + b".\r\n")
        r = c.reply()
        t.ok(code(r) == 250, "max_recipient_bytes: message accepted", r)
        qid = queued_id(r)
        # a new transaction has the whole budget again
        c.cmd(b"MAIL FROM:<b@example.org>")
        rs = [c.cmd(b"RCPT " + arg(i)) for i in range(4)]
        t.ok(all(code(x) == 250 for x in rs),
             "max_recipient_bytes: counted per message, not per session", rs)
        c.cmd(b"QUIT")
        c.close()
        env = wait_for(lambda: spool.by_queue_id().get(qid), 20,
                       what="the max_recipient_bytes message")
        t.is_(len(env.get("rcpt") or []), 4,
              "max_recipient_bytes: envelope has 4 recipients")
        still_serves(t, trap, "max_recipient_bytes")


def test_commands(t):
    with Trap(t, options={"max_commands": 8, "max_unknown_commands": 3}) as trap:
        c = Raw(trap.host, trap.port)
        rs = [c.cmd(b"NOOP") for _ in range(8)]
        t.ok(all(code(x) == 250 for x in rs), "max_commands=8: commands 1..8 served", rs)
        c.send(b"NOOP\r\n")
        refused_and_closed(t, c, "max_commands=8: command 9")
        closed_as(t, trap, c.local_port, "too_many_commands", "max_commands")
        still_serves(t, trap, "max_commands")

        c = Raw(trap.host, trap.port)
        rs = [c.cmd(b"XYZZY%d" % i) for i in range(2)]
        t.ok(all(code(x) in (500, 502) for x in rs),
             "max_unknown_commands=3: unknown commands 1..2 -> 500/502", rs)
        r = c.cmd(b"NOOP")
        t.ok(code(r) == 250, "max_unknown_commands: session still open after 2", r)
        c.send(b"XYZZY3\r\n")
        # the 3rd error may get its 500 first, then the 421
        got = []
        try:
            while True:
                x = c.reply_within(5)
                if not x:
                    break
                got.append(x)
                if code(x) == 421:
                    break
        except socket.timeout:
            pass
        t.ok(got and code(got[-1]) == 421, "max_unknown_commands=3: 3rd unknown -> 421", got)
        closed, rest = c.wait_eof(5)
        t.ok(closed, "max_unknown_commands: connection closed", rest)
        c.close()
        closed_as(t, trap, c.local_port, "too_many_errors", "max_unknown_commands")
        still_serves(t, trap, "max_unknown_commands")


def timed_421(t, conn, name, at_least, at_most, trap=None, close=None):
    start = time.monotonic()
    try:
        r = conn.reply_within(at_most + 3)
    except socket.timeout:
        r = b""
    el = time.monotonic() - start
    t.ok(code(r) == 421, "%s: 421" % name, "got %r after %.2fs" % (r, el))
    t.ok(el >= at_least - 0.3, "%s: not before %.1fs" % (name, at_least), "after %.2fs" % el)
    closed, rest = conn.wait_eof(5)
    t.ok(closed, "%s: connection closed" % name, rest)
    conn.close()
    if trap is not None:
        closed_as(t, trap, conn.local_port, close, name)


def test_timeouts(t):
    with Trap(t, options={"timeout_idle": 1}) as trap:
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO idle.example")
        timed_421(t, c, "timeout_idle=1", 1, 4, trap, "timeout")
        c = Raw(trap.host, trap.port)
        c.send(b"EHLO half-a-comm")     # no CRLF: not a complete command
        timed_421(t, c, "timeout_idle=1 with a partial line", 1, 4)
        still_serves(t, trap, "timeout_idle")

    with Trap(t, options={"timeout_data": 1, "timeout_idle": 30}) as trap:
        spool = Spool(trap)
        before = len(spool.ids())
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO data.example")
        c.cmd(b"MAIL FROM:<a@example.org>")
        c.cmd(b"RCPT TO:<b@example.com>")
        r = c.cmd(b"DATA")
        t.ok(code(r) == 354, "timeout_data: DATA -> 354", r)
        c.send(b"Subject: never finished\r\n\r\nhalf a body")
        timed_421(t, c, "timeout_data=1", 1, 4, trap, "data_timeout")
        still_serves(t, trap, "timeout_data")
        t.is_(len(spool.ids()) - before, 1,
              "timeout_data: the unfinished message is not stored")
        tmp = os.path.join(trap.spool, "tmp")
        try:
            wait_for(lambda: not os.listdir(tmp) if os.path.isdir(tmp) else True, 5,
                     what="tmp/ empty")
            t.ok(True, "timeout_data: nothing left in tmp/")
        except TimeoutError:
            t.ok(False, "timeout_data: nothing left in tmp/", os.listdir(tmp))

    # each persona answers a stalled DATA as its MTA does
    want = {"postfix": rb"421 4\.4\.2 \S+ Error: timeout exceeded\r\n",
            "sendmail": rb"451 4\.4\.1 timeout waiting for input during message collect\r\n",
            "exim": rb"421 \S+ SMTP incoming data timeout - closing connection\.\r\n"}
    for persona, pat in want.items():
        with Trap(t, options={"timeout_data": 1, "timeout_idle": 30,
                              "persona": persona}) as trap:
            c = Raw(trap.host, trap.port)
            c.cmd(b"EHLO data.example")
            c.cmd(b"MAIL FROM:<a@example.org>")
            c.cmd(b"RCPT TO:<b@example.com>")
            c.cmd(b"DATA")
            c.send(b"Subject: stalled\r\n\r\nhalf")
            try:
                r = c.reply_within(5)
            except socket.timeout:
                r = b""
            closed, rest = c.wait_eof(5)
            t.ok(re.fullmatch(pat, r) is not None and closed,
                 "timeout_data, %s persona: its MTA's reply, then closed" % persona, r)
            c.close()

    with Trap(t, options={"timeout_session": 2, "timeout_idle": 30}) as trap:
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO quiet.example")
        timed_421(t, c, "timeout_session=2, quiet session", 1.7, 4, trap, "session_time")

        c = Raw(trap.host, trap.port)
        start = time.monotonic()
        c.cmd(b"EHLO session.example")
        last = b""
        # keep the session busy: only the session age can end it
        while time.monotonic() - start < 8:
            try:
                c.send(b"NOOP\r\n")
                last = c.reply_within(3)
            except (socket.timeout, OSError):
                break
            if code(last) != 250:
                break
            time.sleep(0.2)     # pacing the NOOPs (max_commands), not a sync
        el = time.monotonic() - start
        t.ok(code(last) == 421, "timeout_session=2: 421 while busy", "got %r after %.2fs"
             % (last, el))
        t.ok(1.7 <= el <= 6, "timeout_session=2: after about 2s", "after %.2fs" % el)
        closed, rest = c.wait_eof(5)
        t.ok(closed, "timeout_session: connection closed", rest)
        c.close()
        closed_as(t, trap, c.local_port, "session_time", "timeout_session, busy session")
        still_serves(t, trap, "timeout_session")

    # a client trickling bytes (inside DATA, or a line it never ends) is
    # not idle, but its session still ends at timeout_session
    with Trap(t, options={"timeout_session": 2, "timeout_idle": 30,
                          "timeout_data": 30}) as trap:
        for what in ("DATA", "line"):
            c = Raw(trap.host, trap.port)
            start = time.monotonic()
            c.cmd(b"EHLO trickle.example")
            if what == "DATA":
                c.cmd(b"MAIL FROM:<a@example.org>")
                c.cmd(b"RCPT TO:<b@example.com>")
                c.cmd(b"DATA")
            r = b""
            while time.monotonic() - start < 10:
                try:
                    c.send(b"x")
                except OSError:
                    break
                # pacing the bytes (0.3 s apart), not a sync
                if select.select([c.s], [], [], 0.3)[0]:
                    r = c.reply_within(5)
                    break
            el = time.monotonic() - start
            t.ok(code(r) == 421 and 1.7 <= el <= 6, "timeout_session=2, bytes "
                 "trickled in a %s: 421 after about 2s" % what,
                 "got %r after %.2fs" % (r, el))
            closed, rest = c.wait_eof(5)
            t.ok(closed, "timeout_session, trickled %s: connection closed" % what,
                 rest)
            c.close()
            closed_as(t, trap, c.local_port, "session_time",
                      "timeout_session, trickled %s" % what)


def test_huge_envelope(t):
    """A message whose envelope is larger than a journal segment (4 MiB:
    a thousand recipients of 500 escaped 8-bit bytes each) is stored the
    old, synced way; it and the messages committed beside it get 250."""
    rcpt = b"RCPT TO:<" + b"\xff" * 500 + b"@d.example>"
    with Trap(t, options={"max_recipients": 1000,
                          "max_recipient_bytes": 1024 * 1024}) as trap:
        spool = Spool(trap)
        big = Raw(trap.host, trap.port)
        big.send(b"EHLO big.example\r\nMAIL FROM:<big@example.org>\r\n"
                 + (rcpt + b"\r\n") * 1000 + b"DATA\r\n")
        rs = [big.reply() for _ in range(1 + 1 + 1000 + 1)]
        t.ok([code(x) for x in rs[2:]] == [250] * 1000 + [354],
             "1,000 long 8-bit recipients: 250 each, then 354", rs[-3:])
        others = []
        for i in range(5):
            c = Raw(trap.host, trap.port)
            for l in (b"EHLO small.example", b"MAIL FROM:<small%d@example.org>" % i,
                      b"RCPT TO:<dropbox@example.com>", b"DATA"):
                c.cmd(l)
            others.append(c)
        # the big one and the small ones end their data together
        big.send(b"Subject: big envelope\r\n\r\nbody\r\n.\r\n")
        for i, c in enumerate(others):
            c.send(b"Subject: small %d\r\n\r\nbody\r\n.\r\n" % i)
        r = big.reply()
        t.ok(code(r) == 250, "an envelope larger than a journal segment: 250", r)
        rs = [c.reply() for c in others]
        t.ok(all(code(x) == 250 for x in rs),
             "the messages committed beside it: 250 each", rs)
        for c in others + [big]:
            c.close()
        try:
            env = wait_for(lambda: spool.by_queue_id().get(queued_id(r)), 20,
                           what="the big-envelope message")
            t.ok(spool.cat(env["id"]) == b"Subject: big envelope\r\n\r\nbody\r\n"
                 and len(spool.show(env["id"]).get("rcpt") or []) == 1000,
                 "and it is stored with its 1,000 recipients")
        except (TimeoutError, RuntimeError) as e:
            t.ok(False, "and it is stored with its 1,000 recipients", str(e))


def main():
    t = Tap()
    for f in (test_sessions_cap, test_per_ip_cap, test_message_limits,
              test_commands, test_timeouts, test_huge_envelope):
        try:
            f(t)
        except Exception as e:  # noqa: BLE001 - report, go on with the next
            t.ok(False, "%s ran to the end" % f.__name__, repr(e))
    t.done()


if __name__ == "__main__":
    main()
