#!/usr/bin/env python3
"""Sessions that never send a message are recorded: connect+QUIT, a scan
(connect, close without a word), AUTH guessing (also with credentials over
512 bytes, kept cut), VRFY harvesting, HTTP and binary junk on the port,
implicit-TLS clients that never finish the handshake (no banner recorded).
Visible through `relaytrap session list/show --json`; the event log has
"session", "auth" and "message" events."""
import base64
import os
import re
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for  # noqa: E402
from storelib import Raw, Spool, code, client_port, sha256, queued_id  # noqa: E402

CLOSE_NAMES = {"quit", "eof", "timeout", "data_timeout", "session_time",
               "too_many_errors", "too_many_commands", "line_too_long",
               "too_many_sessions", "too_many_from_ip", "proxy_invalid",
               "proxy_timeout", "nonsmtp", "tls_error", "shutdown", "io_error"}
CREDS = [("admin", "123456"), ("root", "password"), ("test@example.com", "qwerty")]
CRAM_DIGEST = "b913a602c7eda7a495b4e6e7334d3890"


def b64(s):
    return base64.b64encode(s.encode()).decode().encode()


def session_record(t, trap, port, what):
    """The session record of the connection from local port `port` ({} if
    none came within 15 s: said as a diagnostic, the checks then fail)."""
    spool, recs = Spool(trap), {}
    try:
        wait_for(lambda: port in spool.sessions_by_port(recs), 15, what=what)
    except (TimeoutError, RuntimeError) as e:
        t.diag(str(e))
    return recs.get(port) or {}


def main():
    t = Tap()
    with Trap(t) as trap:
        ports = {}

        # 1. connect + QUIT
        c = Raw(trap.host, trap.port)
        r = c.cmd(b"QUIT")
        t.ok(code(r) == 221, "connect+QUIT: 221", r)
        ports["quit"] = c.local_port
        c.close()

        # 2. scan: connect, close without a word
        s = socket.create_connection((trap.host, trap.port), timeout=5)
        ports["scan"] = s.getsockname()[1]
        s.close()

        # 3. AUTH guessing
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO guesser.example")
        replies = []
        for u, p in CREDS:
            replies.append(c.cmd(b"AUTH LOGIN"))
            replies.append(c.cmd(b64(u)))
            replies.append(c.cmd(b64(p)))
        r = c.cmd(b"AUTH PLAIN " + base64.b64encode(b"\0plainuser\0plainpass"))
        replies.append(r)
        # CRAM-MD5 is server-first: an initial response fails, recorded
        replies.append(c.cmd(b"AUTH CRAM-MD5 " + b64("cramuser " + CRAM_DIGEST)))
        t.ok([code(x) for x in replies] == [334, 334, 535] * 3 + [535, 535],
             "AUTH guessing: 334 334 535 per LOGIN attempt, 535 for PLAIN and "
             "for CRAM-MD5 with an initial response", replies)
        t.ok(replies[0].strip().endswith(b"VXNlcm5hbWU6")
             and replies[1].strip().endswith(b"UGFzc3dvcmQ6"),
             "AUTH LOGIN challenges are Username:/Password:", replies[:2])
        c.cmd(b"QUIT")
        ports["auth"] = c.local_port
        c.close()

        # 4. VRFY harvesting
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO harvester.example")
        rs = [c.cmd(b"VRFY root"), c.cmd(b"VRFY admin")]
        t.ok(all(code(x) == 252 for x in rs), "VRFY root/admin: 252", rs)
        c.cmd(b"QUIT")
        ports["vrfy"] = c.local_port
        c.close()

        # 5. HTTP on the SMTP port
        c = Raw(trap.host, trap.port)
        c.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/7.88.1\r\n"
               b"Accept: */*\r\n\r\n")
        closed, got = c.wait_eof(5)
        t.ok(closed, "HTTP request: the trap closes the connection", got)
        ports["http"] = c.local_port
        c.close()

        # 6. binary junk (a TLS ClientHello-like blob, NULs, high bytes)
        c = Raw(trap.host, trap.port)
        junk = (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(256))
                + b"\r\n\x00\xff\xfe junk \x01\x02\r\n")
        c.send(junk)
        c.wait_eof(1)            # whatever it answers; then we hang up
        ports["junk"] = c.local_port
        c.close()

        # 6b. a probe that never ends its line (a TLS ClientHello on the
        # plain port, no LF in it), then EOF
        c = Raw(trap.host, trap.port)
        probe = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(11, 255)) * 3
        c.send(probe)
        c.s.shutdown(socket.SHUT_WR)
        c.wait_eof(5)
        ports["probe"] = c.local_port
        c.close()

        # 7. one message, for the "message" event
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO sender.example")
        c.cmd(b"MAIL FROM:<spammer@example.org>")
        c.cmd(b"RCPT TO:<dropbox@example.com>")
        c.cmd(b"DATA")
        body = b"Subject: event test\r\n\r\nhello\r\n"
        c.send(body + b".\r\n")
        r = c.reply()
        t.ok(code(r) == 250, "message: 250", r)
        qid = queued_id(r)
        c.cmd(b"QUIT")
        ports["msg"] = c.local_port
        c.close()

        spool = Spool(trap)
        recs = {}
        want = set(ports.values())
        try:
            wait_for(lambda: want <= set(spool.sessions_by_port(recs)), 15,
                     what="session records for %s" % sorted(want))
        except (TimeoutError, RuntimeError) as e:
            t.diag(str(e))
        by = {k: recs.get(p) for k, p in ports.items()}
        for k in ports:
            t.ok(by[k] is not None, "%s: session recorded (session list/show --json)" % k,
                 "ports seen: %s" % sorted(recs))
        for k, rec in by.items():
            if rec is not None:
                t.ok(rec.get("close") in CLOSE_NAMES and rec.get("messages") is not None,
                     "%s: close reason %r, messages recorded" % (k, rec.get("close")),
                     rec)

        def close_of(k):
            return (by.get(k) or {}).get("close")

        def findings(k):
            return (by.get(k) or {}).get("findings") or {}

        t.is_(close_of("quit"), "quit", "connect+QUIT: close quit")
        t.is_((by.get("quit") or {}).get("messages"), [], "connect+QUIT: no messages")
        t.ok(close_of("scan") in ("eof", "io_error"), "scan: close eof/io_error",
             close_of("scan"))
        a = (by.get("auth") or {}).get("auth") or []
        got = [(x.get("mechanism"), x.get("user"),
                x.get("password") or x.get("digest"), x.get("result")) for x in a]
        t.is_(got, [("LOGIN", u, p, "fail") for u, p in CREDS]
              + [("PLAIN", "plainuser", "plainpass", "fail"),
                 ("CRAM-MD5", "cramuser", CRAM_DIGEST, "invalid")],
              "AUTH guessing: every attempt recorded with decoded credentials")
        t.ok(findings("auth").get("auth_attempt", 0) >= 4,
             "AUTH guessing: finding auth_attempt", findings("auth"))
        tr = "\n".join((by.get("vrfy") or {}).get("transcript") or [])
        t.ok("C: VRFY root" in tr and "C: VRFY admin" in tr,
             "VRFY harvesting: both VRFY in the transcript", tr)
        t.is_(close_of("http"), "nonsmtp", "HTTP request: close nonsmtp")
        t.ok(findings("http").get("nonsmtp_command", 0) >= 1,
             "HTTP request: finding nonsmtp_command", findings("http"))
        fj = findings("junk")
        t.ok(any(fj.get(n, 0) >= 1 for n in ("8bit_command", "ctrl_command", "nul",
                                              "unknown_command", "nonsmtp_command")),
             "binary junk: findings recorded", fj)
        t.ok(close_of("junk") in CLOSE_NAMES, "binary junk: close reason recorded",
             close_of("junk"))
        pr = by.get("probe") or {}
        last = (pr.get("transcript") or [""])[-1]
        t.ok(findings("probe").get("unterminated_line") == 1
             and last.startswith("C: \\x16\\x03\\x01\\x02")
             and pr.get("bytes_in") == len(probe),
             "a probe without a line end: recorded (finding, its first bytes in "
             "the transcript) and counted in bytes_in",
             (findings("probe"), last[:60], pr.get("bytes_in"), len(probe)))
        m = (by.get("msg") or {}).get("messages") or []
        t.is_(len(m), 1, "message session lists its message id")

        # events
        def evs():
            e = trap.read_events()
            ss = [x for x in e if x.get("type") == "session"]
            return e if want <= {client_port(x.get("client")) for x in ss} else None
        try:
            events = wait_for(evs, 10, what="session events")
        except TimeoutError as e:
            t.diag(str(e))
            events = trap.read_events()
        t.ok(events and all(("schema" in e and "type" in e and "ts" in e) for e in events),
             "every event has schema, type, ts", [e for e in events if "ts" not in e][:3])
        sev = {client_port(e.get("client")): e for e in events if e.get("type") == "session"}
        for k, p in ports.items():
            e = sev.get(p)
            t.ok(e is not None and (by.get(k) is None or e.get("id") == by[k].get("id")),
                 "%s: one session event with the session's id" % k, e)
        per_port = {}
        for e in events:
            if e.get("type") == "session":
                pp = client_port(e.get("client"))
                per_port[pp] = per_port.get(pp, 0) + 1
        t.ok(all(per_port.get(p) == 1 for p in ports.values()),
             "exactly one session event per session", per_port)
        aid = (by.get("auth") or {}).get("id")
        aev = [e for e in events if e.get("type") == "auth" and e.get("session") == aid]
        t.is_([(e.get("mechanism"), e.get("user"),
                e.get("password") or e.get("digest"), e.get("result")) for e in aev],
              [("LOGIN", u, p, "fail") for u, p in CREDS]
              + [("PLAIN", "plainuser", "plainpass", "fail"),
                 ("CRAM-MD5", "cramuser", CRAM_DIGEST, "invalid")],
              "an auth event per attempt, credentials decoded")
        bad = trap.event_type_conflicts()
        t.ok(not bad, "session, auth and message events: every key has one JSON type (one Elasticsearch "
             "mapping)", bad)
        mev = [e for e in events if e.get("type") == "message"]
        env = spool.by_queue_id().get(qid) or {}
        me = [e for e in mev if e.get("id") == env.get("id")]
        t.ok(len(me) == 1 and me[0].get("sha256") == sha256(body)
             and me[0].get("size") == len(body)
             and me[0].get("session") == (by.get("msg") or {}).get("id"),
             "a message event with id, session, size, sha256", me or mev[:3])

        # the key=value log: client text cannot forge a key, a line or a
        # terminal escape (log_esc)
        c = Raw(trap.host, trap.port)
        c.cmd(b'EHLO evil" x=1\x1b[31m\xff\\')
        c.cmd(b"QUIT")
        evil_port = c.local_port
        c.close()
        want = b"helo verb=EHLO name=evil\\x22\\x20x=1\\x1b[31m\\xff\\x5c"
        # the session record keeps the bytes sent (escaped as docs/SPOOL.md
        # says), not the '?' that replies show for control bytes
        try:
            wait_for(lambda: evil_port in spool.sessions_by_port(recs), 10,
                     what="the evil HELO's session")
        except (TimeoutError, RuntimeError) as e:
            t.diag(str(e))
        name = ((recs.get(evil_port) or {}).get("helo") or {}).get("name")
        t.is_(name, 'evil" x=1\\x1b[31m\\xff\\\\', "the HELO name is recorded as sent, escaped")

        def logged():
            with open(trap.logpath, "rb") as f:
                return [l for l in f.read().splitlines() if b"smtp helo" in l
                        and b"evil" in l]
        lines = wait_for(logged, 10, what="the helo log line")
        t.ok(any(l.endswith(want) for l in lines) and
             all(b"\x1b" not in l and b'"' not in l for l in lines),
             "client text in the log is escaped", lines)
    greet_pause(t)
    auth_bounds(t)
    auth_truncated(t)
    auth_overlong_line(t)
    tls_unfinished(t)
    tls_over_limit(t)
    starttls_injection(t)
    t.done()


def auth_bounds(t):
    """A failed AUTH is an error (Postfix counts it toward its error limit):
    AUTH guessing ends in 421 at max_unknown_commands. Past 100 attempts a
    session keeps counting them but no longer records each one in full."""
    plain = b"AUTH PLAIN " + base64.b64encode(b"\0guess\0" + b"p" * 900)
    with Trap(t, options={"max_unknown_commands": 5}) as trap:
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO guesser.example")
        rs = [c.cmd(plain) for _ in range(5)]
        last = c.reply_within(5)
        t.ok([code(x) for x in rs] == [535] * 5 and code(last) == 421,
             "max_unknown_commands=5: the 5th failed AUTH gets its 535, then 421",
             (rs[-1], last))
        closed, _ = c.wait_eof(5)
        t.ok(closed, "and the connection is closed")
        c.close()
    with Trap(t, options={"max_unknown_commands": 1000}) as trap:
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO guesser.example")
        c.send((plain + b"\r\n") * 150)
        rs = [c.reply() for _ in range(150)]
        t.ok(all(code(x) == 535 for x in rs), "150 failed AUTH PLAIN: 535 each")
        c.cmd(b"QUIT")
        port = c.local_port
        c.close()
        rec = session_record(t, trap, port, "the session record")
        t.ok(len(rec.get("auth") or []) == 100 and rec.get("auth_unrecorded") == 50,
             "the session record keeps 100 attempts in full and counts the 50 "
             "more", (len(rec.get("auth") or []), rec.get("auth_unrecorded")))
        sev = [e for e in trap.read_events() if e.get("type") == "session"
               and e.get("id") == rec.get("id")]
        t.ok(sev and sev[0].get("auth") == 150,
             "the session event counts all 150", sev)
        aev = [e for e in trap.read_events() if e.get("type") == "auth"
               and e.get("session") == rec.get("id")]
        t.is_(len(aev), 100, "an auth event for each attempt kept")


def greet_pause(t):
    """greet_pause: no banner for that long; a client that talks first did
    not wait for it (finding pregreet) and is served after the banner; one
    that waits is not flagged; dripping bytes do not put the banner off."""
    with Trap(t, options={"greet_pause": 400}) as trap:
        ports = {}
        t0 = time.monotonic()
        c = Raw(trap.host, trap.port, read_banner=False)
        c.send(b"EHLO talker.example\r\n")
        banner = c.reply_within(5)
        waited = time.monotonic() - t0
        r = c.reply_within(5)
        t.ok(code(banner) == 220 and code(r) == 250 and waited >= 0.35,
             "greet_pause=400: the banner after the pause, then the command "
             "sent before it is answered", (banner, r, waited))
        c.cmd(b"QUIT")
        ports["talker"] = c.local_port
        c.close()

        t0 = time.monotonic()
        c = Raw(trap.host, trap.port, read_banner=False)
        banner = c.reply_within(5)
        waited = time.monotonic() - t0
        t.ok(code(banner) == 220 and waited >= 0.35,
             "greet_pause: a client that waits gets the banner after the pause",
             (banner, waited))
        r = c.cmd(b"EHLO polite.example")
        t.ok(code(r) == 250, "and is served", r)
        c.cmd(b"QUIT")
        ports["polite"] = c.local_port
        c.close()

        t0 = time.monotonic()
        c = Raw(trap.host, trap.port, read_banner=False)
        c.s.setblocking(False)
        got = b""
        while b"\r\n" not in got and time.monotonic() - t0 < 3:
            try:
                c.s.send(b"x")      # a byte every 50 ms, no line end
            except OSError:
                break
            try:
                got += c.s.recv(4096)
            except BlockingIOError:
                pass
            time.sleep(0.05)
        waited = time.monotonic() - t0
        t.ok(got.startswith(b"220 ") and waited < 1.0,
             "greet_pause: bytes dripping in do not put the banner off",
             (got[:40], waited))
        c.close()

        spool = Spool(trap)
        recs = {}
        try:
            wait_for(lambda: set(ports.values()) <= set(spool.sessions_by_port(recs)), 15,
                     what="session records")
        except (TimeoutError, RuntimeError) as e:
            t.diag(str(e))
        talker = (recs.get(ports["talker"]) or {}).get("findings") or {}
        polite = (recs.get(ports["polite"]) or {}).get("findings") or {}
        t.ok(talker.get("pregreet") == 1, "the client that talked first: finding "
             "pregreet", talker)
        t.ok("pregreet" not in polite, "the one that waited: none", polite)


def auth_truncated(t):
    """Credentials over 512 bytes (SMTP_AUTH_FIELD_MAX) are evidence too:
    recorded cut to 512 bytes with "truncated": true, and the client gets
    the persona's normal 535 (sendmail's, whose reply to undecodable
    base64 is a 501), for PLAIN and LOGIN with and without an initial
    response and for CRAM-MD5. A response as long as the line limit
    allows is handled the same."""
    user = "u" * 600 + "@example.org"
    pw = "p" * 700
    huge = "h" * 40000
    with Trap(t, options={"persona": "sendmail", "max_unknown_commands": 100,
                          "max_line_length": 65536}) as trap:
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO guesser.example")
        want = []          # (what, replies, mechanism, user, password/digest)
        rs = [c.cmd(b"AUTH PLAIN " + b64("\0%s\0%s" % (user, pw)))]
        want.append(("PLAIN initial response", rs, "PLAIN", user, pw))
        rs = [c.cmd(b"AUTH PLAIN"), c.cmd(b64("\0bob\0" + pw))]
        want.append(("PLAIN prompted", rs, "PLAIN", "bob", pw))
        rs = [c.cmd(b"AUTH LOGIN " + b64(user)), c.cmd(b64("short"))]
        want.append(("LOGIN initial response", rs, "LOGIN", user, "short"))
        rs = [c.cmd(b"AUTH LOGIN"), c.cmd(b64(user)), c.cmd(b64(pw))]
        want.append(("LOGIN prompted", rs, "LOGIN", user, pw))
        rs = [c.cmd(b"AUTH LOGIN"), c.cmd(b64("alice")), c.cmd(b64(pw))]
        want.append(("LOGIN prompted, long password", rs, "LOGIN", "alice", pw))
        rs = [c.cmd(b"AUTH CRAM-MD5"), c.cmd(b64(user + " " + CRAM_DIGEST))]
        want.append(("CRAM-MD5", rs, "CRAM-MD5", user, CRAM_DIGEST))
        rs = [c.cmd(b"AUTH PLAIN " + b64("\0mallory\0" + huge))]
        want.append(("PLAIN 40000-byte password", rs, "PLAIN", "mallory", huge))
        rs = [c.cmd(b"AUTH PLAIN " + b64("\0carol\0pw"))]
        want.append(("PLAIN short (control)", rs, "PLAIN", "carol", "pw"))
        for what, rs, *_ in want:
            t.ok([code(x) for x in rs[:-1]] == [334] * (len(rs) - 1)
                 and code(rs[-1]) == 535 and b"authentication failed" in rs[-1],
                 "long AUTH %s: the persona's 535" % what, rs)
        r = c.cmd(b"NOOP")
        t.ok(code(r) == 250, "and the session goes on", r)
        c.cmd(b"QUIT")
        port = c.local_port
        c.close()
        rec = session_record(t, trap, port, "the session record")
        got = rec.get("auth") or []
        t.is_(len(got), len(want), "every long attempt recorded")
        for (what, _, mech, u, secret), a in zip(want, got):
            key = "digest" if mech == "CRAM-MD5" else "password"
            cut = len(u) > 512 or len(secret) > 512
            t.is_((a.get("mechanism"), a.get("user"), a.get(key), a.get("result"),
                   a.get("truncated")),
                  (mech, u[:512], secret[:512], "fail", True if cut else None),
                  "long AUTH %s: recorded cut to 512 bytes%s" % (
                      what, ", marked truncated" if cut else ", not marked"))
        sid = rec.get("id")
        aev = [e for e in trap.read_events() if e.get("type") == "auth"
               and e.get("session") == sid]
        t.is_([(e.get("user"), e.get("truncated")) for e in aev],
              [(a.get("user"), a.get("truncated")) for a in got],
              "the auth events carry the cut credentials and the mark")
        bad = trap.event_type_conflicts()
        t.ok(not bad, "truncated has one JSON type in the event log", bad)


def auth_overlong_line(t):
    """A SASL response longer than max_line_length ends the exchange (the
    persona's reply to undecodable base64, the attempt recorded invalid),
    so the next command is a command again: before, the session stayed in
    the exchange and read MAIL (or QUIT) as the response."""
    with Trap(t, options={"max_line_length": 1000}) as trap:
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO guesser.example")
        r1 = c.cmd(b"AUTH LOGIN")
        r2 = c.cmd(b"A" * 3000)
        r4 = c.cmd(b"AUTH PLAIN")
        r5 = c.cmd(b"B" * 3000)
        r3 = c.cmd(b"MAIL FROM:<a@example.com>")
        r6 = c.cmd(b"RCPT TO:<b@example.net>")
        t.ok(code(r1) == 334 and code(r2) == 535 and code(r4) == 334 and
             code(r5) == 535, "an over-long SASL response ends the exchange "
             "with the persona's failure", (r1, r2, r4, r5))
        t.ok(code(r3) == 250 and code(r6) == 250,
             "the next line is a command again (MAIL, RCPT)", (r3, r6))
        c.cmd(b"QUIT")
        port = c.local_port
        c.close()
        rec = session_record(t, trap, port, "the session record")
        got = rec.get("auth") or []
        t.is_([(a.get("mechanism"), a.get("result")) for a in got],
              [("LOGIN", "invalid"), ("PLAIN", "invalid")],
              "one invalid attempt each, nothing made up")


def tls_over_limit(t):
    """A client over max_sessions_per_ip on an implicit-TLS port gets no
    plaintext 421 (it expects a TLS handshake, and a real server's port
    465 would not answer in the clear): the connection is closed, and
    recorded as too_many_from_ip."""
    with Trap(t, listeners=("tls:127.0.0.1:0",),
              options={"max_sessions_per_ip": 1}) as trap:
        addr = trap.addrs[0]
        first = socket.create_connection(addr, timeout=10)
        try:
            wait_for(lambda: re.search(rb"smtp connect client=127\.0\.0\.1 port=%d"
                                       % first.getsockname()[1],
                                       open(trap.logpath, "rb").read()), 10,
                     what="the first session")
            over = socket.create_connection(addr, timeout=10)
            port = over.getsockname()[1]
            got = b""
            try:
                while True:
                    b = over.recv(4096)
                    if not b:
                        break
                    got += b
            except (socket.timeout, ConnectionResetError):
                pass
            over.close()
            t.is_(got, b"", "implicit TLS, over the per-address limit: closed, "
                  "nothing said in the clear")
            rec = session_record(t, trap, port, "the refused session's record")
            t.ok(rec.get("close") == "too_many_from_ip" and rec.get("bytes_out") == 0,
                 "recorded as too_many_from_ip, bytes_out 0",
                 (rec.get("close"), rec.get("bytes_out"), rec.get("transcript")))
        finally:
            first.close()


def tls_unfinished(t):
    """An implicit-TLS client that never completes the handshake was never
    greeted: the banner goes out (and into the transcript) only once the
    handshake is done, and the timeout's 421 cannot be said before that,
    so the session record shows no reply at all. A client that completes
    the handshake gets the banner, recorded as the first line."""
    with Trap(t, listeners=("127.0.0.1:0", "tls:127.0.0.1:0"),
              options={"timeout_idle": 1}) as trap:
        tls_addr = trap.addrs[1]
        ports = {}
        # connects and says nothing
        silent = socket.create_connection(tls_addr, timeout=10)
        ports["silent"] = silent.getsockname()[1]
        # starts a ClientHello and stalls inside it
        stalled = socket.create_connection(tls_addr, timeout=10)
        stalled.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
        ports["stalled"] = stalled.getsockname()[1]
        # speaks plain SMTP to the TLS port (a scanner's probe)
        plain = socket.create_connection(tls_addr, timeout=10)
        plain.sendall(b"EHLO scanner.example\r\n")
        ports["plain"] = plain.getsockname()[1]
        for k, s in (("silent", silent), ("stalled", stalled), ("plain", plain)):
            got = b""
            try:
                while True:          # the server's timeout ends it
                    b = s.recv(4096)
                    if not b:
                        break
                    got += b
                closed = True
            except socket.timeout:
                closed = False
            except ConnectionResetError:
                closed = True
            t.ok(closed and b"220" not in got,
                 "implicit TLS, handshake never done (%s): closed, no banner "
                 "in the clear" % k, got[:80])
            s.close()
        # a client that completes the handshake
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(tls_addr, timeout=10)
        ports["done"] = raw.getsockname()[1]
        with ctx.wrap_socket(raw) as s:
            f = s.makefile("rb")
            banner = f.readline()
            s.sendall(b"QUIT\r\n")
            bye = f.readline()
            f.close()
        t.ok(banner.startswith(b"220 ") and bye.startswith(b"221"),
             "implicit TLS, handshake done: banner, then QUIT answered",
             (banner, bye))

        spool, recs = Spool(trap), {}
        try:
            wait_for(lambda: set(ports.values()) <= set(spool.sessions_by_port(recs)),
                     15, what="session records")
        except (TimeoutError, RuntimeError) as e:
            t.diag(str(e))
        for k in ("silent", "stalled"):
            rec = recs.get(ports[k]) or {}
            tr = rec.get("transcript")
            t.ok(rec and not [x for x in tr if x.startswith("S:")]
                 and rec.get("bytes_out") == 0 and rec.get("rejected") == 0,
                 "implicit TLS, handshake never done (%s): the transcript shows "
                 "no reply, bytes_out 0" % k,
                 (tr, rec.get("bytes_out"), rec.get("rejected")))
            t.is_(rec.get("close"), "timeout",
                  "implicit TLS, handshake never done (%s): close timeout" % k)
            t.is_(rec.get("tls"), None, "and no TLS facts (%s)" % k)
        # what they sent in the clear is kept: the bytes, and their count
        rec = recs.get(ports["stalled"]) or {}
        t.is_(rec.get("bytes_in"), 11, "implicit TLS, stalled ClientHello: "
              "its 11 bytes counted in bytes_in")
        rec = recs.get(ports["plain"]) or {}
        t.ok("C: EHLO scanner.example" in (rec.get("transcript") or [])
             and rec.get("bytes_in") == 22 and rec.get("bytes_out") == 0,
             "implicit TLS, plain SMTP sent to it: the EHLO in the transcript, "
             "22 bytes in, nothing out",
             (rec.get("transcript"), rec.get("bytes_in"), rec.get("bytes_out"),
              rec.get("close")))
        rec = recs.get(ports["done"]) or {}
        tr = rec.get("transcript") or []
        t.ok(tr[:1] == ["S: " + banner.decode().rstrip("\r\n")]
             and "C: QUIT" in tr and (rec.get("tls") or {}).get("implicit") is True,
             "implicit TLS, handshake done: the banner is the transcript's first "
             "line", (tr, rec.get("tls")))


def starttls_injection(t):
    """Commands pipelined behind STARTTLS (CVE-2011-0411's shape) are
    dropped, not run inside TLS, and kept as evidence: the finding, and
    the bytes as C: lines between the STARTTLS line and its 220."""
    with Trap(t) as trap:
        s = socket.create_connection((trap.host, trap.port), timeout=10)
        f = s.makefile("rb")
        port = s.getsockname()[1]
        f.readline()
        s.sendall(b"EHLO injector.example\r\n")
        while not f.readline().startswith(b"250 "):
            pass
        s.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<inject@example.org>\r\n")
        go = f.readline()
        f.close()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with ctx.wrap_socket(s) as ts:
            tf = ts.makefile("rb")
            ts.sendall(b"MAIL FROM:<after@example.org>\r\n")
            after = tf.readline()
            ts.sendall(b"QUIT\r\n")
            tf.readline()
            tf.close()
        # Postfix takes MAIL without EHLO (smtpd_helo_required=no); had
        # the injected MAIL been run, this one would be a nested MAIL (503)
        t.ok(go.startswith(b"220 ") and after.startswith(b"250"),
             "STARTTLS with commands behind it: 220, and inside TLS the "
             "injected MAIL was not run (250 for a first MAIL)", (go, after))
        rec = session_record(t, trap, port, "the injector's record")
        tr = rec.get("transcript") or []
        i = tr.index("C: STARTTLS") if "C: STARTTLS" in tr else -1
        t.ok(i >= 0 and tr[i + 1:i + 4] == [
            "C: RSET", "C: MAIL FROM:<inject@example.org>",
            "S: " + go.decode().rstrip("\r\n")],
             "the dropped commands are in the transcript, before the 220",
             tr[i:i + 5] if i >= 0 else tr)
        t.is_((rec.get("findings") or {}).get("starttls_injection"), 1,
              "and counted as starttls_injection")


if __name__ == "__main__":
    main()
