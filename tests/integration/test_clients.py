#!/usr/bin/env python3
"""Real SMTP clients against relaytrapd: swaks (plain, STARTTLS, AUTH
PLAIN/LOGIN/CRAM-MD5), curl smtp://, openssl s_client (STARTTLS and an
implicit-TLS listener), Postfix's smtp-source; what they see and what the
spool and `relaytrap` record."""
import base64
import hashlib
import hmac
import os
import re
import select
import shutil
import subprocess
import sys
sys.dont_write_bytecode = True
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, tool, wait_for  # noqa: E402
from protolib import (Evidence, guard, run, persona_opts, need_binaries, events,  # noqa: E402
                      client_port)

SRV_235 = re.compile(r"(?m)^<[-~*]{1,2} +235 ")
SRV_535 = re.compile(r"(?m)^<[-~*]{1,2} +535 ")


def swaks(trap, *args, port=None, timeout=60):
    sw = tool("swaks")
    argv = [sw, "--server", trap.host, "--port", str(port or trap.port),
            "--timeout", "20", "--ehlo", "client.example"] + list(args)
    r = run(argv, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace")


def swaks_has_tls():
    sw = tool("swaks")
    r = run([sw, "--support"], timeout=30)
    return "TLS supported" in r.stdout.decode(errors="replace")


def plain(t, trap, ev):
    rc, out = swaks(trap, "--from", "plain@example.org", "--to",
                    "dropbox@example.com", "--body", "hello from swaks")
    t.ok(rc == 0 and re.search(r"<-  250 2\.0\.0 Ok: queued as \w+", out),
         "swaks plain: 250 queued", out)
    e = ev.by_from("plain@example.org")
    t.is_(([r["addr"] for r in e["rcpt"]], e.get("tls")),
          (["dropbox@example.com"], None), "swaks plain: envelope rcpt, no tls")
    t.ok(b"hello from swaks\r\n" in ev.cat(e["id"]),
         "swaks plain: body stored", ev.cat(e["id"]))


def starttls(t, trap, ev):
    rc, out = swaks(trap, "--tls", "--from", "tls@example.org", "--to",
                    "dropbox@example.com", "--body", "hello over starttls")
    t.ok(rc == 0 and "<-  220 2.0.0 Ready to start TLS" in out
         and re.search(r"<~  250 2\.0\.0 Ok: queued as \w+", out),
         "swaks --tls: STARTTLS then 250 queued inside TLS", out)
    t.ok(not re.search(r"<~  250[- ]STARTTLS", out),
         "swaks --tls: EHLO inside TLS no longer offers STARTTLS", out)
    e = ev.by_from("tls@example.org")
    tls = e.get("tls") or {}
    t.ok(str(tls.get("version", "")).startswith("TLSv1.") and tls.get("cipher")
         and tls.get("implicit") is False,
         "swaks --tls: envelope tls records version and cipher, not implicit", tls)
    t.ok(b"hello over starttls\r\n" in ev.cat(e["id"]),
         "swaks --tls: body stored")


def cram_ok(a, pw):
    """The recorded CRAM-MD5 digest is HMAC-MD5(password, challenge)."""
    ch = a.get("challenge") or ""
    cands = [ch.encode()]
    try:
        cands.append(base64.b64decode(ch, validate=True))
    except (ValueError, TypeError):
        pass
    return any(hmac.new(pw.encode(), c, hashlib.md5).hexdigest()
               == str(a.get("digest", "")).lower() for c in cands)


def auth_entry_ok(a, mech, user, pw, result):
    if not a or a.get("mechanism") != mech or a.get("user") != user:
        return False
    if a.get("result") != result:
        return False
    if mech == "CRAM-MD5":
        return cram_ok(a, pw)
    return a.get("password") == pw


def auth_default(t, trap, ev):
    # required AUTH: the persona's 535 and swaks gives up (exit 28)
    rc, out = swaks(trap, "--auth", "PLAIN", "--auth-user", "admin",
                    "--auth-password", "123456", "--from", "req@example.org",
                    "--to", "dropbox@example.com")
    t.ok(rc == 28 and re.search(r"(?m)^<\*\* +535 5\.7\.8 Error: authentication failed", out),
         "swaks --auth PLAIN (default config): 535 5.7.8, swaks exits 28", out)
    for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
        user, pw = "u-" + mech.lower(), "pw:" + mech + " x"
        frm = "auth-%s@example.org" % mech.lower()
        rc, out = swaks(trap, "--auth-optional", mech, "--auth-user", user,
                        "--auth-password", pw, "--from", frm, "--to",
                        "dropbox@example.com")
        t.ok(rc == 0 and SRV_535.search(out) and not SRV_235.search(out)
             and re.search(r"<-  250 2\.0\.0 Ok: queued as", out),
             "AUTH %s fails with 535 by default, relaying still works" % mech, out)
        e = ev.by_from(frm)
        auth = e.get("auth") or []
        t.ok(len(auth) == 1 and auth_entry_ok(auth[0], mech, user, pw, "fail"),
             "AUTH %s: envelope auth has the decoded credentials" % mech, auth)
        srec = [ev.find_session(lambda s: s.get("id") == e.get("session"), 20,
                                "session of AUTH %s" % mech, full=False)]
        t.ok(srec[0].get("auth_attempts") == 1,
             "AUTH %s: relaytrap session list --json counts the attempt" % mech,
             srec)
        full = ev.session_show(e["session"]) or {}
        sa = full.get("auth")
        t.ok(isinstance(sa, list) and len(sa) == 1
             and auth_entry_ok(sa[0], mech, user, pw, "fail"),
             "AUTH %s: session record has the decoded credentials" % mech, sa)
    def login_event():
        return any(x.get("type") == "auth" and x.get("mechanism") == "LOGIN"
                   and x.get("user") == "u-login"
                   and x.get("password") == "pw:LOGIN x"
                   and x.get("result") == "fail" for x in events(trap))
    try:
        found = wait_for(login_event, 10, what="auth event")
    except TimeoutError:
        found = False
    t.ok(found, "auth event in the event log with the decoded credentials",
         [x for x in events(trap) if x.get("type") == "auth"])


def auth_accept(t, trap, ev):
    for mech in ("PLAIN", "LOGIN", "CRAM-MD5"):
        frm = "ok-%s@example.org" % mech.lower()
        rc, out = swaks(trap, "--auth", mech, "--auth-user", "alice",
                        "--auth-password", "s3cret", "--from", frm, "--to",
                        "dropbox@example.com")
        t.ok(rc == 0 and re.search(r"(?m)^<[-~]  235 2\.7\.0 Authentication successful", out)
             and "Ok: queued as" in out,
             "auth_accept: AUTH %s alice:s3cret gets 235" % mech, out)
        e = ev.by_from(frm)
        t.ok(len(e.get("auth") or []) == 1
             and auth_entry_ok(e["auth"][0], mech, "alice", "s3cret", "ok"),
             "auth_accept: AUTH %s recorded as ok" % mech, e.get("auth"))
        rc, out = swaks(trap, "--auth", mech, "--auth-user", "alice",
                        "--auth-password", "wrong", "--from", frm, "--to",
                        "dropbox@example.com")
        t.ok(rc == 28 and SRV_535.search(out) and not SRV_235.search(out),
             "auth_accept: AUTH %s alice:wrong gets 535" % mech, out)
    rc, out = swaks(trap, "--auth", "PLAIN", "--auth-user", "bob",
                    "--auth-password", "s3cret", "--from", "x@example.org",
                    "--to", "dropbox@example.com")
    t.ok(rc == 28 and SRV_535.search(out),
         "auth_accept: right password, wrong user gets 535", out)


def curl_upload(t, trap, ev, d):
    curl = tool("curl")
    body = (b"From: curl@example.org\r\nSubject: curl\r\n\r\n"
            b"line one\r\n.leading dot\r\n..two dots\r\nlast\r\n")
    f = os.path.join(d, "curl.eml")
    with open(f, "wb") as fh:
        fh.write(body)
    r = run([curl, "-s", "-S", "smtp://%s:%d" % (trap.host, trap.port),
             "--mail-from", "curl@example.org", "--mail-rcpt",
             "dropbox@example.com", "-T", f], timeout=60)
    t.is_(r.returncode, 0, "curl smtp:// upload succeeds")
    e = ev.by_from("curl@example.org")
    t.is_(ev.cat(e["id"]), body, "curl: queue cat returns the file's bytes")


class SClient:
    """openssl s_client driven line by line through pipes, with deadlines."""

    def __init__(self, argv, errpath):
        self.err = open(errpath, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.buf = b""

    def line(self, timeout=15):
        deadline = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("s_client: no line; have %r" % self.buf)
            rd, _, _ = select.select([fd], [], [], left)
            if rd:
                d = os.read(fd, 65536)
                if not d:
                    out, self.buf = self.buf, b""
                    return out
                self.buf += d
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def reply(self, timeout=15):
        out = b""
        while True:
            l = self.line(timeout)
            if not l:
                return out
            out += l
            if len(l) < 4 or l[3:4] != b"-":
                return out

    def cmd(self, s):
        self.p.stdin.write(s.encode() + b"\n")
        self.p.stdin.flush()
        return self.reply()

    def finish(self, timeout=15):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.err.close()
        return rc


def sclient_session(t, name, sc, frm, greet_first):
    got = []
    if greet_first:
        got.append(sc.reply())
    ehlo = sc.cmd("EHLO client.example")
    got += [ehlo, sc.cmd("MAIL FROM:<%s>" % frm),
            sc.cmd("RCPT TO:<dropbox@example.com>"), sc.cmd("DATA")]
    sc.p.stdin.write(b"Subject: " + name.encode() + b"\nhello over tls\n.\n")
    sc.p.stdin.flush()
    got.append(sc.reply())
    got.append(sc.cmd("QUIT"))
    codes = [int(g[:3]) if g[:3].isdigit() else None for g in got]
    want = ([220] if greet_first else []) + [250, 250, 250, 354, 250, 221]
    t.is_(codes, want, "%s: whole transaction inside TLS" % name)
    t.ok(b"STARTTLS" not in ehlo, "%s: EHLO inside TLS does not offer STARTTLS" % name,
         ehlo)


def sclient_starttls(t, trap, ev, d):
    ossl = tool("openssl")
    sc = SClient([ossl, "s_client", "-starttls", "smtp", "-connect",
                  "%s:%d" % (trap.host, trap.port), "-quiet", "-crlf"],
                 os.path.join(d, "sclient1.err"))
    try:
        sclient_session(t, "s_client -starttls smtp", sc, "sclient@example.org", False)
    finally:
        sc.finish()
    e = ev.by_from("sclient@example.org")
    tls = e.get("tls") or {}
    t.ok(str(tls.get("version", "")).startswith("TLSv1.") and tls.get("implicit") is False,
         "s_client -starttls: envelope tls (not implicit)", tls)
    t.is_(ev.cat(e["id"]), b"Subject: s_client -starttls smtp\r\nhello over tls\r\n",
          "s_client -starttls: body stored with CRLF")


def sclient_implicit(t, trap, ev, d):
    ossl = tool("openssl")
    host, port = trap.addrs[1]
    sc = SClient([ossl, "s_client", "-connect", "%s:%d" % (host, port),
                  "-quiet", "-crlf"], os.path.join(d, "sclient2.err"))
    try:
        sclient_session(t, "s_client tls: listener", sc, "implicit@example.org", True)
    finally:
        sc.finish()
    e = ev.by_from("implicit@example.org")
    tls = e.get("tls") or {}
    t.ok(str(tls.get("version", "")).startswith("TLSv1.") and tls.get("cipher")
         and tls.get("implicit") is True,
         "implicit TLS: envelope tls implicit", tls)
    t.is_((e.get("server") or {}).get("port"), port,
          "implicit TLS: envelope server port is the tls: listener")


def smtp_source(t, trap, ev):
    src = tool("smtp-source")
    r = run([src, "-s", "5", "-m", "50", "-l", "2048", "-f", "a@example.org",
             "-t", "b@example.net", "%s:%d" % (trap.host, trap.port)], timeout=120)
    t.is_(r.returncode, 0, "smtp-source -s 5 -m 50 exits 0")
    try:
        ev.trap.wait_messages(50, timeout=30)
    except TimeoutError:
        pass
    ids = ev.ids()
    t.is_(len(ids), 50, "smtp-source: exactly 50 messages in the queue")
    if ids:
        e = ev.show(ids[0])
        t.ok(e and e["mail_from"]["addr"] == "a@example.org"
             and [x["addr"] for x in e["rcpt"]] == ["b@example.net"]
             and e["size"] >= 2048,
             "smtp-source: envelope from/rcpt/size", e)


def main_trap(t, have, d):
    with Trap(t, listeners=("127.0.0.1:0", "tls:127.0.0.1:0"),
              options=persona_opts("postfix")) as trap:
        ev = Evidence(trap)
        if have["swaks"]:
            guard(t, "swaks plain", plain, t, trap, ev)
            if swaks_has_tls():
                guard(t, "swaks --tls", starttls, t, trap, ev)
            else:
                t.skip("swaks --tls", "swaks lacks Net::SSLeay (libnet-ssleay-perl)")
            guard(t, "swaks auth", auth_default, t, trap, ev)
        else:
            t.skip("swaks", "swaks not installed")
        if have["curl"]:
            guard(t, "curl", curl_upload, t, trap, ev, d)
        else:
            t.skip("curl smtp://", "curl not installed")
        if have["openssl"]:
            guard(t, "s_client starttls", sclient_starttls, t, trap, ev, d)
            guard(t, "s_client implicit", sclient_implicit, t, trap, ev, d)
        else:
            t.skip("openssl s_client", "openssl not installed")


def configured_cert_trap(t, d):
    """tls_cert/tls_key: both STARTTLS and the implicit-TLS listener present
    the configured certificate, not a self-signed one of their own."""
    ossl = shutil.which("openssl")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    r = subprocess.run([ossl, "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=mx.configured.example", "-days", "2",
                        "-keyout", key, "-out", cert],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        t.ok(False, "openssl req made a certificate", r.stdout)
        return
    opts = persona_opts("postfix")
    opts.update({"tls_cert": '"%s"' % cert, "tls_key": '"%s"' % key})
    with Trap(t, listeners=("127.0.0.1:0", "tls:127.0.0.1:0"), options=opts) as trap:
        (h1, p1), (h2, p2) = trap.addrs[0], trap.addrs[1]
        for what, extra, port in (("STARTTLS", ["-starttls", "smtp"], p1),
                                  ("implicit TLS", [], p2)):
            r = subprocess.run([ossl, "s_client", "-connect", "127.0.0.1:%d" % port,
                                "-servername", "mx.configured.example"] + extra,
                               input=b"QUIT\r\n", stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=30)
            out = r.stdout.decode(errors="replace")
            t.ok(re.search(r"subject=\s*CN\s*=\s*mx\.configured\.example", out),
                 "tls_cert: %s presents the configured certificate" % what,
                 out[-1500:])


def accept_trap(t):
    with Trap(t, options=persona_opts("postfix",
                                      auth_accept='{"alice:s3cret"}')) as trap:
        auth_accept(t, trap, Evidence(trap))


def source_trap(t):
    with Trap(t, options=persona_opts("postfix")) as trap:
        smtp_source(t, trap, Evidence(trap))


def main():
    t = Tap()
    need_binaries(t)
    d = tempfile.mkdtemp(prefix="rt-clients-")
    have = {n: tool(n) for n in ("swaks", "curl", "openssl", "smtp-source")}
    guard(t, "clients trap", main_trap, t, have, d)
    if have["openssl"]:
        guard(t, "configured certificate", configured_cert_trap, t, d)
    if have["swaks"]:
        guard(t, "auth_accept trap", accept_trap, t)
    else:
        t.skip("auth_accept", "swaks not installed")
    if have["smtp-source"]:
        guard(t, "smtp-source trap", source_trap, t)
    else:
        t.skip("smtp-source", "postfix smtp-source not installed")
    shutil.rmtree(d, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
