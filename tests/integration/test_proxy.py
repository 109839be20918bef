#!/usr/bin/env python3
"""proxy: listeners (REFERENCE.md 5.1): v1 TCP4/TCP6 and v2 IPv4/IPv6/LOCAL
headers make the proxied source the recorded client (peer stays the
socket), headers may arrive in pieces, no banner before a valid header,
invalid headers close without banner and are recorded, and the per-IP
cap counts proxied addresses."""
import os
import sys
sys.dont_write_bytecode = True

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for  # noqa: E402
from protolib import (Conn, Evidence, code, guard, persona_opts,  # noqa: E402
                      need_binaries, proxy_v1, proxy_v2, events)

# how long "nothing arrives" is watched for; only proves an absence
QUIET = 0.3


def peer_port(rec):
    return (rec.get("peer") or {}).get("port")


def deliver(t, name, c, ip):
    """After the banner: a message through the proxied session; the exim
    persona's EHLO greeting shows the client address it believes in."""
    r = c.cmd(b"EHLO client.example")
    t.ok(code(r) == 250 and ("[%s]" % ip).encode() in r.split(b"\r\n")[0],
         "%s: EHLO greeting names the proxied address %s" % (name, ip), r)
    rs = [c.cmd(b"MAIL FROM:<proxy@example.org>"),
          c.cmd(b"RCPT TO:<dropbox@example.com>"), c.cmd(b"DATA")]
    c.send(b"Subject: " + name.encode() + b"\r\n\r\nx\r\n.\r\n")
    rs.append(c.reply())
    c.cmd(b"QUIT")
    t.is_([code(x) for x in rs], [250, 250, 354, 250],
          "%s: message accepted" % name)


def check_env(t, name, ev, lport, server_port, client, proxy):
    e = ev.find(lambda x: peer_port(x) == lport, 20, "%s envelope" % name)
    t.is_(e.get("client"), client, "%s: envelope client is the proxied source" % name)
    t.is_(e.get("peer"), {"addr": "127.0.0.1", "port": lport},
          "%s: envelope peer is the socket" % name)
    t.is_((e.get("server") or {}).get("port"), server_port,
          "%s: envelope server is the listener" % name)
    p = e.get("proxy")
    if proxy is None:
        t.ok(p is None or p.get("command") == "LOCAL",
             "%s: envelope proxy is null or LOCAL" % name, p)
    else:
        got = {k: (p or {}).get(k) for k in proxy}
        t.is_(got, proxy, "%s: envelope proxy fields" % name)
    return e


GOOD = [
    ("v1 TCP4", lambda: proxy_v1("203.0.113.9", "198.51.100.25", 50123, 25),
     "203.0.113.9", 50123,
     {"version": 1, "src_addr": "203.0.113.9", "src_port": 50123,
      "dst_addr": "198.51.100.25", "dst_port": 25}),
    ("v1 TCP6", lambda: proxy_v1("2001:db8::9", "2001:db8::25", 50124, 25, "TCP6"),
     "2001:db8::9", 50124,
     {"version": 1, "src_addr": "2001:db8::9", "src_port": 50124,
      "dst_addr": "2001:db8::25", "dst_port": 25}),
    ("v2 IPv4", lambda: proxy_v2("198.51.100.7", "198.51.100.25", 50125, 587,
                                 tlvs=b"\x04\x00\x03abc"),
     "198.51.100.7", 50125,
     {"version": 2, "command": "PROXY", "src_addr": "198.51.100.7",
      "src_port": 50125, "dst_addr": "198.51.100.25", "dst_port": 587}),
    ("v2 IPv6", lambda: proxy_v2("2001:db8::7", "2001:db8::25", 50126, 25),
     "2001:db8::7", 50126,
     {"version": 2, "command": "PROXY", "src_addr": "2001:db8::7",
      "src_port": 50126, "dst_addr": "2001:db8::25", "dst_port": 25}),
]


def good_headers(t, trap, ev):
    host, port = trap.addrs[1]
    for name, hdr, ip, sport, proxy in GOOD:
        with Conn(host, port, read_banner=False) as c:
            t.ok(c.quiet_for(QUIET), "%s: no banner before the header" % name)
            c.send(hdr())
            b = c.reply()
            t.ok(b.startswith(b"220 mail.example.net ESMTP Exim"),
                 "%s: banner after the header" % name, b)
            deliver(t, name, c, ip)
            lport = c.local_port
        e = check_env(t, name, ev, lport, port, {"addr": ip, "port": sport}, proxy)
        guard(t, name + " events", session_event, t, name, trap, e["session"], ip)


def session_event(t, name, trap, sid, ip):
    """The event log's "session" record names the proxied client too."""
    def look():
        for x in events(trap):
            if x.get("type") == "session" and x.get("id") == sid:
                return x
        return None
    x = wait_for(look, 20, what="session event %s" % sid)
    c = x.get("client")
    addr = c.get("addr") if isinstance(c, dict) else c
    t.is_(addr, ip, "%s: session event client is the proxied address" % name)


def local_header(t, trap, ev):
    host, port = trap.addrs[1]
    name = "v2 LOCAL"
    with Conn(host, port, read_banner=False) as c:
        c.send(proxy_v2(None, command=0))
        b = c.reply()
        t.is_(code(b), 220, "%s: banner" % name)
        deliver(t, name, c, "127.0.0.1")
        lport = c.local_port
    check_env(t, name, ev, lport, port, {"addr": "127.0.0.1", "port": lport}, None)


def split_headers(t, trap, ev):
    host, port = trap.addrs[1]
    cases = [
        ("v1 split", proxy_v1("203.0.113.20", "198.51.100.25", 50130, 25),
         (5, 17, 30), "203.0.113.20", 50130),
        ("v2 split", proxy_v2("203.0.113.21", "198.51.100.25", 50131, 25),
         (5, 13, 15, 20), "203.0.113.21", 50131),
    ]
    for name, hdr, cuts, ip, sport in cases:
        with Conn(host, port, read_banner=False) as c:
            prev, quiet = 0, []
            for cut in cuts:
                c.send(hdr[prev:cut])
                prev = cut
                quiet.append(c.quiet_for(QUIET))
            t.ok(all(quiet), "%s: no banner while the header is incomplete" % name,
                 quiet)
            c.send(hdr[prev:])
            b = c.reply()
            t.is_(code(b), 220, "%s: banner once the header is complete" % name)
            deliver(t, name, c, ip)
            lport = c.local_port
        check_env(t, name, ev, lport, port, {"addr": ip, "port": sport},
                  {"src_addr": ip, "src_port": sport})


BAD = [
    ("garbage", b"GET / HTTP/1.0\r\n\r\n"),
    ("v1 without CRLF in 107 bytes", b"PROXY TCP4 " + b"1" * 120),
    ("v2 bad version", proxy_v2("203.0.113.30", "198.51.100.25", 50140, 25,
                                version=1)),
    ("v1 ended by a bare LF", b"PROXY TCP4 203.0.113.31 198.51.100.25 50141 25\n"
     b"EHLO x\r\n"),
]


def bad_headers(t, trap, ev):
    host, port = trap.addrs[1]
    for name, data in BAD:
        with Conn(host, port, read_banner=False) as c:
            c.send(data)
            got = c.wait_eof(15)
            lport = c.local_port
        t.is_(got, b"", "%s: connection closed without banner" % name)
        s = ev.find_session(lambda x: peer_port(x) == lport, 20,
                            "%s session record" % name)
        t.is_(s.get("close"), "proxy_invalid",
              "%s: session recorded with close proxy_invalid" % name)


def per_ip_cap(t):
    with Trap(t, listeners=("127.0.0.1:0", "proxy:127.0.0.1:0"),
              options=persona_opts("postfix", max_sessions_per_ip="1",
                                      timeout_proxy="1")) as trap:
        ev = Evidence(trap)
        host, port = trap.addrs[1]
        c1 = Conn(host, port, read_banner=False)
        c1.send(proxy_v1("203.0.113.50", "198.51.100.25", 50150, 25))
        t.is_(code(c1.reply()), 220, "cap: first session from 203.0.113.50")
        c2 = Conn(host, port, read_banner=False)
        c2.send(proxy_v1("203.0.113.50", "198.51.100.25", 50151, 25))
        r = c2.reply()
        t.is_(code(r), 421, "cap: second session from 203.0.113.50 gets 421")
        t.is_(c2.wait_eof(10), b"", "cap: and is closed")
        c3 = Conn(host, port, read_banner=False)
        c3.send(proxy_v1("203.0.113.51", "198.51.100.25", 50152, 25))
        t.is_(code(c3.reply()), 220,
              "cap: another proxied address over the same 127.0.0.1 socket source is served")
        c4 = Conn(trap.host, trap.port, read_banner=False)
        b = c4.reply()
        t.is_(code(b), 220, "cap: a direct 127.0.0.1 client is served too")
        for c in (c1, c3, c4):
            c.cmd(b"QUIT")
            c.close()
        c2.close()
        s = ev.find_session(lambda x: (x.get("client") or {}).get("port") == 50151,
                            20, "capped session record")
        t.is_(((s.get("client") or {}).get("addr"), s.get("close")),
              ("203.0.113.50", "too_many_from_ip"),
              "cap: refused session recorded with the proxied client")
        # an incomplete header: closed without banner after timeout_proxy
        c5 = Conn(host, port, read_banner=False)
        c5.send(b"PROXY TCP4 203.0.")
        got = c5.wait_eof(15)
        lport = c5.local_port
        c5.close()
        t.is_(got, b"", "timeout_proxy: incomplete header closed without banner")
        s = ev.find_session(lambda x: peer_port(x) == lport, 20,
                            "proxy timeout session record")
        t.is_(s.get("close"), "proxy_timeout",
              "timeout_proxy: session recorded with close proxy_timeout")


def main_trap(t):
    with Trap(t, listeners=("127.0.0.1:0", "proxy:127.0.0.1:0"),
              options=persona_opts("exim")) as trap:
        ev = Evidence(trap)
        guard(t, "good headers", good_headers, t, trap, ev)
        guard(t, "LOCAL header", local_header, t, trap, ev)
        guard(t, "split headers", split_headers, t, trap, ev)
        guard(t, "bad headers", bad_headers, t, trap, ev)


def main():
    t = Tap()
    need_binaries(t)
    guard(t, "proxy trap", main_trap, t)
    guard(t, "per-IP cap", per_ip_cap, t)
    t.done()


if __name__ == "__main__":
    main()
