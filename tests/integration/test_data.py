#!/usr/bin/env python3
"""DATA and the wire: dot-unstuffing round trips, only CRLF.CRLF ends a
message, odd bytes are stored byte-exact and named as findings
(docs/SPOOL.md), pipelining replies come in order, talking before the
banner is recorded, 8-bit/UTF-8 addresses with SMTPUTF8."""
import os
import sys
sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap  # noqa: E402
from protolib import (Conn, Evidence, code, lines, guard, persona_opts,  # noqa: E402
                      client_port, finding, need_binaries, proxy_v1)


def stuff(msg):
    """SMTP transparency (RFC 5321 4.5.2): a leading '.' gets doubled."""
    out = []
    for l in msg.split(b"\r\n"):
        out.append(b"." + l if l.startswith(b".") else l)
    return b"\r\n".join(out)


def envelope_of(ev, c, what):
    port = c if isinstance(c, int) else c.local_port
    return ev.find(lambda e: client_port(e) == port, 20, what)


def begin(trap, frm):
    c = Conn(trap.host, trap.port)
    for l, want in ((b"EHLO client.example", 250),
                    (b"MAIL FROM:<" + frm + b">", 250),
                    (b"RCPT TO:<dropbox@example.com>", 250),
                    (b"DATA", 354)):
        r = c.cmd(l)
        if code(r) != want:
            c.close()
            raise AssertionError("%r -> %r" % (l, r))
    return c


def dot_unstuffing(t, trap, ev):
    lines_ = [b"Subject: dots", b"", b".", b"..", b"...", b".x", b"..y",
              b"a.", b" .", b". ", b"end"]
    msg = b"\r\n".join(lines_) + b"\r\n"
    c = begin(trap, b"dots@example.org")
    c.send(stuff(msg) + b".\r\nNOOP\r\n")
    r1, r2 = c.reply(), c.reply()
    t.ok(code(r1) == 250 and code(r2) == 250,
         "dot-stuffed lines: one 250 for the message, then NOOP", (r1, r2))
    c.cmd(b"QUIT")
    c.close()
    e = envelope_of(ev, c, "dot-unstuffing message")
    t.is_(ev.cat(e["id"]), msg, "lines starting with . .. ... round-trip exactly")
    t.is_(e["size"], len(msg), "envelope size counts unstuffed bytes")


ODD = [
    # (name, body bytes as sent (no stuffing needed), findings, exact)
    ("bare LF", b"line1\nline2\r\n", ["bare_lf"], True),
    ("bare CR", b"line1\rline2\r\n", ["bare_cr"], True),
    ("NUL", b"a\x00b\r\n", ["nul"], True),
    ("LF . CRLF", b"a\n.\r\nb\r\n", ["smuggle_lf_dot_crlf"], True),
    ("CR . CRLF", b"a\r.\r\nb\r\n", ["smuggle_cr_dot_crlf"], True),
    ("LF . LF", b"a\n.\nb\r\n", ["smuggle_lf_dot_lf"], True),
    ("CRLF . LF", b"a\r\n.\nb\r\n", ["smuggle_crlf_dot_lf"], False),
    ("8-bit", b"caf\xc3\xa9 \xff\xfe\r\n", ["8bit_data"], True),
    # RFC 5321 4.5.3.1.6: 1000 octets with the CRLF
    ("a 999-octet line", b"x" * 999 + b"\r\n", ["long_line"], True),
]


def text_line_limit(t, trap, ev):
    """998 octets and the CRLF is the longest line RFC 5321 allows: not a
    finding."""
    body = b"Subject: limit\r\n\r\n" + b"y" * 998 + b"\r\n"
    c = begin(trap, b"limit@example.org")
    c.send(body + b".\r\n")
    t.is_(code(c.reply()), 250, "a 998-octet line: stored")
    c.cmd(b"QUIT")
    c.close()
    e = envelope_of(ev, c, "998-octet line message")
    t.ok(finding(e, "long_line") == 0, "a 998-octet line is not a long_line",
         e.get("findings"))


def odd_bytes(t, trap, ev):
    for i, (name, body, finds, exact) in enumerate(ODD):
        frm = b"odd%d@example.org" % i
        c = begin(trap, frm)
        # message, real end of data, and a command: only CRLF.CRLF ends
        c.send(body + b".\r\nNOOP\r\n")
        r1, r2 = c.reply(), c.reply()
        c.cmd(b"QUIT")
        c.close()
        t.ok(code(r1) == 250 and b"queued" in r1 and code(r2) == 250
             and lines(r2) == ["250 2.0.0 Ok"],
             "%s: not an end of data; the real CRLF.CRLF gives one 250" % name,
             (r1, r2))
        e = envelope_of(ev, c, "%s message" % name)
        got = ev.cat(e["id"])
        if exact:
            t.is_(got, body, "%s: stored byte-exact" % name)
        else:
            t.ok(got.startswith(b"a\r\n") and got.endswith(b"b\r\n"),
                 "%s: message continues past it" % name, got)
        t.ok(all(finding(e, f) >= 1 for f in finds),
             "%s: envelope findings name %s" % (name, ", ".join(finds)),
             e.get("findings"))


def pipelining_ok(t, trap, ev):
    """RFC 2920 use: EHLO, then MAIL..DATA in one write."""
    c = Conn(trap.host, trap.port)
    r = c.cmd(b"EHLO client.example")
    t.ok(code(r) == 250 and b"PIPELINING" in r, "EHLO offers PIPELINING", r)
    c.send(b"MAIL FROM:<pipe@example.org>\r\nRCPT TO:<a@example.com>\r\n"
           b"RCPT TO:<b@example.com>\r\nDATA\r\n")
    rs = [c.reply() for _ in range(4)]
    t.is_([lines(x) for x in rs],
          [["250 2.1.0 Ok"], ["250 2.1.5 Ok"], ["250 2.1.5 Ok"],
           ["354 End data with <CR><LF>.<CR><LF>"]],
          "pipelined MAIL/RCPT/RCPT/DATA: replies in order")
    c.send(b"Subject: p\r\n\r\nbody\r\n.\r\n")
    r = c.reply()
    t.is_(code(r), 250, "pipelined transaction queued")
    c.cmd(b"QUIT")
    c.close()
    e = envelope_of(ev, c, "pipelined message")
    t.is_([x["addr"] for x in e["rcpt"]], ["a@example.com", "b@example.com"],
          "pipelined: both recipients recorded")
    t.ok(finding(e, "pipelining_without_extension") == 0
         and finding(e, "pipelining_after_data") == 0,
         "RFC 2920 pipelining is not a finding", e.get("findings"))


def pipelining_whole(t, trap, ev):
    """The whole transaction, EHLO to QUIT, in one write."""
    body = b"Subject: all at once\r\n\r\nbody\r\n"
    c = Conn(trap.host, trap.port)
    c.send(b"EHLO client.example\r\nMAIL FROM:<whole@example.org>\r\n"
           b"RCPT TO:<dropbox@example.com>\r\nDATA\r\n" + body
           + b".\r\nQUIT\r\n")
    rs = [c.reply() for _ in range(6)]
    t.is_([code(x) for x in rs], [250, 250, 250, 354, 250, 221],
          "one write EHLO..QUIT: all replies, in order")
    t.ok(b"queued as" in rs[4], "one write: the 250 after the dot is the queue reply",
         rs[4])
    t.ok(c.wait_eof(10) == b"", "one write: closed after 221")
    c.close()
    e = envelope_of(ev, c, "one-write message")
    t.is_(ev.cat(e["id"]), body, "one write: message stored exactly")
    t.ok(finding(e, "pipelining_after_data") >= 1,
         "one write: pipelining_after_data recorded", e.get("findings"))


def half_close(t, trap, ev):
    """`printf 'EHLO..QUIT' | nc -N host port`: the whole dialogue in one
    write, then the client's EOF (a half-close: it still reads). Every
    message is stored and every reply sent, in order, before the close;
    without the QUIT the session ends as eof once all is served."""
    import socket
    bodies = [b"Subject: half-close %d\r\n\r\nbody %d\r\n" % (i, i) for i in range(3)]
    for quit_ in (True, False):
        c = Conn(trap.host, trap.port)
        dialogue = b"EHLO client.example\r\n"
        for i, b in enumerate(bodies):
            dialogue += (b"MAIL FROM:<half%d@example.org>\r\nRCPT TO:<dropbox@example.com>"
                         b"\r\nDATA\r\n" % i) + b + b".\r\n"
        if quit_:
            dialogue += b"QUIT\r\n"
        c.send(dialogue)
        c.s.shutdown(socket.SHUT_WR)
        rs = [c.reply() for _ in range(1 + 4 * 3 + (1 if quit_ else 0))]
        want = [250] + [250, 250, 354, 250] * 3 + ([221] if quit_ else [])
        what = "with QUIT" if quit_ else "without QUIT"
        t.is_([code(x) for x in rs], want,
              "half-close after the whole dialogue (%s): every reply, in order" % what)
        t.ok(c.wait_eof(10) == b"", "half-close (%s): then closed" % what)
        c.close()
        for i, b in enumerate(bodies):
            e = ev.find(lambda e: client_port(e) == c.local_port and
                        e["mail_from"]["addr"] == "half%d@example.org" % i, 20,
                        "half-close message %d" % i)
            t.is_(ev.cat(e["id"]) if e else None, b,
                  "half-close (%s): message %d stored exactly" % (what, i + 1))


def pipelining_helo(t, trap, ev):
    """After HELO there is no PIPELINING: sending ahead is a finding."""
    c = Conn(trap.host, trap.port)
    r = c.cmd(b"HELO client.example")
    t.is_(code(r), 250, "HELO 250")
    c.send(b"MAIL FROM:<helopipe@example.org>\r\nRCPT TO:<dropbox@example.com>\r\n")
    rs = [c.reply(), c.reply()]
    t.is_([code(x) for x in rs], [250, 250],
          "pipelined after HELO: still answered in order")
    r = c.cmd(b"DATA")
    c.send(b"x\r\n.\r\n")
    r2 = c.reply()
    c.cmd(b"QUIT")
    c.close()
    t.is_((code(r), code(r2)), (354, 250), "HELO session: message queued")
    e = envelope_of(ev, c, "HELO-pipelined message")
    t.ok(finding(e, "pipelining_without_extension") >= 1,
         "pipelining_without_extension recorded", e.get("findings"))


def pregreet(t, trap, ev):
    """On a proxy: listener the banner waits for the header, so bytes sent
    with the header are deterministically before the banner."""
    host, port = trap.addrs[1]
    c = Conn(host, port, read_banner=False)
    c.send(proxy_v1("192.0.2.77", "192.0.2.25", 41000, 25)
           + b"EHLO early.example\r\n")
    b = c.reply()
    t.is_(code(b), 220, "pregreet: banner still sent after the header")
    c.reply()            # whatever the persona answers to the early EHLO
    c.send(b"QUIT\r\n")
    c.close()
    s = ev.find_session(lambda x: client_port(x) == 41000, 20,
                        "pregreet session")
    t.ok(finding(s, "pregreet") >= 1, "talking before the banner recorded as pregreet",
         s.get("findings"))


def utf8(t, trap, ev):
    c = Conn(trap.host, trap.port)
    rs = [c.cmd(b"EHLO client.example")]
    t.ok(b"SMTPUTF8" in rs[0], "EHLO offers SMTPUTF8", rs[0])
    frm = "jösé@exämple.org"
    to = "用户@例子.广告"
    rs.append(c.cmd(("MAIL FROM:<%s> SMTPUTF8" % frm).encode()))
    rs.append(c.cmd(("RCPT TO:<%s>" % to).encode()))
    rs.append(c.cmd(b"DATA"))
    body = "Subject: héllo\r\n\r\nñ ü 用户\r\n".encode()
    c.send(body + b".\r\n")
    rs.append(c.reply())
    c.cmd(b"QUIT")
    c.close()
    t.is_([code(x) for x in rs], [250, 250, 250, 354, 250],
          "SMTPUTF8 transaction accepted")
    e = envelope_of(ev, c, "SMTPUTF8 message")
    t.is_((e["mail_from"]["addr"], e["mail_from"].get("smtputf8"),
           [x["addr"] for x in e["rcpt"]]), (frm, True, [to]),
          "UTF-8 addresses recorded as UTF-8, smtputf8 true")
    t.is_(ev.cat(e["id"]), body, "UTF-8 body stored exactly")
    # raw Latin-1 (not UTF-8) in an address: accepted, escaped as \xNN
    c = Conn(trap.host, trap.port)
    rs = [c.cmd(b"EHLO client.example"), c.cmd(b"MAIL FROM:<j\xe9@example.org>"),
          c.cmd(b"RCPT TO:<dropbox@example.com>"), c.cmd(b"DATA")]
    c.send(b"x\r\n.\r\n")
    rs.append(c.reply())
    c.cmd(b"QUIT")
    c.close()
    t.is_([code(x) for x in rs], [250, 250, 250, 354, 250],
          "8-bit (Latin-1) sender accepted")
    e = envelope_of(ev, c, "Latin-1 message")
    t.is_(e["mail_from"]["addr"].lower(), "j\\xe9@example.org",
          "invalid UTF-8 byte in the address escaped as \\xNN")
    t.ok(finding(e, "8bit_command") >= 1, "8bit_command recorded", e.get("findings"))


def slow_reader(t, trap, ev):
    """A client that pipelines far more replies than its receive buffer
    holds: replies the socket does not take at once wait in the server's
    buffer (and reading pauses past 256 KiB of them), none lost, none out
    of order, and the session goes on afterwards."""
    import socket
    import threading
    n = 40000
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    s.settimeout(30)
    s.connect((trap.host, trap.port))
    c = Conn(None, None, timeout=30, sock=s)
    c.cmd(b"EHLO client.example")
    # under 256 KiB of replies: the server reads it all, and most of its
    # replies cannot go out until the client reads (which it does only now)
    m = 15000
    c.send(b"NOOP\r\n" * m)
    rs = [c.reply() for _ in range(m)]
    bad = [i for i, r in enumerate(rs) if lines(r) != ["250 2.0.0 Ok"]]
    t.is_(bad[:3], [], "slow reader: %d replies written late, all there" % m)
    sent = []
    th = threading.Thread(
        target=lambda: sent.append(s.sendall(b"NOOP\r\n" * n) or True))
    th.start()
    rs = [c.reply() for _ in range(n)]
    th.join(30)
    t.ok(sent == [True], "slow reader: all %d pipelined NOOPs were taken" % n)
    bad = [i for i, r in enumerate(rs) if lines(r) != ["250 2.0.0 Ok"]]
    t.is_(bad[:3], [], "slow reader: %d replies, each 250 in order" % n)
    r = c.cmd(b"MAIL FROM:<slow@example.org>")
    t.is_(code(r), 250, "slow reader: the session goes on afterwards")
    t.is_(code(c.cmd(b"QUIT")), 221, "slow reader: QUIT")
    c.close()


def run_all(t):
    with Trap(t, listeners=("127.0.0.1:0", "proxy:127.0.0.1:0"),
              # the slow reader's 40,000 NOOPs: past Postfix's junk-command
              # limit each counts as an error (test_smtp_dialog.py tests it)
              options=persona_opts("postfix", max_commands=100000,
                                   max_unknown_commands=100000)) as trap:
        ev = Evidence(trap)
        guard(t, "dot-unstuffing", dot_unstuffing, t, trap, ev)
        guard(t, "odd bytes", odd_bytes, t, trap, ev)
        guard(t, "text line limit", text_line_limit, t, trap, ev)
        guard(t, "pipelining", pipelining_ok, t, trap, ev)
        guard(t, "pipelining whole", pipelining_whole, t, trap, ev)
        guard(t, "half-close", half_close, t, trap, ev)
        guard(t, "pipelining after HELO", pipelining_helo, t, trap, ev)
        guard(t, "pregreet", pregreet, t, trap, ev)
        guard(t, "utf8", utf8, t, trap, ev)
        guard(t, "slow reader", slow_reader, t, trap, ev)


def main():
    t = Tap()
    need_binaries(t)
    guard(t, "data trap", run_all, t)
    t.done()


if __name__ == "__main__":
    main()
