"""storelib -- helpers for the limits/durability/recording integration tests
(test_roundtrip, test_limits, test_sessions, test_crash, test_diskfull,
test_daemon). Built on rtlib; stdlib only; loopback only.
"""
import hashlib
import json
import os
import re
import smtplib
import socket
import time

from rtlib import wait_for, read_reply

QUEUED_RE = re.compile(rb"(?:queued as |\bid=)([A-Za-z0-9-]+)")


def to_crlf(raw):
    """The SMTP form of a message file: every line ending CRLF, a final CRLF
    added if missing. These are the bytes the spool must store."""
    b = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not b.endswith(b"\r\n"):
        b += b"\r\n"
    return b


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def queued_id(resp):
    """The persona's queue id from a '250 ... queued as QID' reply (Exim:
    'id=QID'), or None."""
    if isinstance(resp, str):
        resp = resp.encode()
    m = QUEUED_RE.search(resp or b"")
    return m.group(1).decode() if m else None


def smtp_send(host, port, body, mail_from="spammer@example.org",
              rcpts=("dropbox@example.com",), timeout=20, helo="bot.example"):
    """One message over smtplib (EHLO, MAIL, RCPT..., DATA body, QUIT).
    body: bytes in SMTP form (CRLF). Returns (code, reply bytes) of the
    end of data; raises smtplib/OS errors on anything else."""
    s = smtplib.SMTP(host, port, timeout=timeout)
    try:
        s.ehlo(helo)
        code, resp = s.mail(mail_from)
        if code != 250:
            return code, resp
        for r in rcpts:
            code, resp = s.rcpt(r)
            if code not in (250, 251):
                return code, resp
        try:
            code, resp = s.data(body)
        except smtplib.SMTPDataError as e:
            code, resp = e.smtp_code, e.smtp_error
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass
        return code, resp
    finally:
        s.close()


def client_port(x):
    """Port of a 'client' value: {"addr","port"} or "addr:port" / "[v6]:port"."""
    if isinstance(x, dict):
        try:
            return int(x.get("port"))
        except (TypeError, ValueError):
            return None
    if isinstance(x, str) and ":" in x:
        try:
            return int(x.rsplit(":", 1)[1])
        except ValueError:
            return None
    return None


def json_lines(b):
    """Records from CLI output: one JSON object per line, or one JSON array."""
    text = b.decode(errors="replace").strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    out = []
    for l in text.splitlines():
        l = l.strip()
        if l:
            out.append(json.loads(l))
    return out


class Spool:
    """Reads a trap's spool through the `relaytrap` CLI (and the files)."""

    def __init__(self, trap):
        self.trap = trap
        self._env = {}

    def ids(self):
        r = self.trap.cli("queue", "list", "--json")
        if r.returncode != 0:
            raise RuntimeError("queue list --json rc=%d: %s"
                               % (r.returncode, r.stderr.decode(errors="replace")))
        return [m["id"] for m in json_lines(r.stdout)]

    def show(self, mid):
        if mid not in self._env:
            r = self.trap.cli("queue", "show", mid, "--json")
            if r.returncode != 0:
                raise RuntimeError("queue show %s rc=%d: %s"
                                   % (mid, r.returncode, r.stderr.decode(errors="replace")))
            recs = json_lines(r.stdout)
            env = recs[0] if recs else {}
            # some CLIs wrap the envelope: {"id":..,"envelope":{...}}
            if isinstance(env, dict) and "envelope" in env and isinstance(env["envelope"], dict):
                merged = dict(env["envelope"])
                merged.setdefault("id", env.get("id"))
                env = merged
            self._env[mid] = env
        return self._env[mid]

    def cat(self, mid):
        r = self.trap.cli("queue", "cat", mid)
        return r.stdout if r.returncode == 0 else None

    def by_queue_id(self):
        """{persona queue id: envelope} for every message in the spool."""
        out = {}
        for mid in self.ids():
            env = self.show(mid)
            out[env.get("queue_id")] = env
        return out

    def by_sha(self):
        out = {}
        for mid in self.ids():
            env = self.show(mid)
            out.setdefault(env.get("sha256"), []).append(env)
        return out

    # -- sessions -------------------------------------------------------
    def session_ids(self):
        r = self.trap.cli("session", "list", "--json")
        if r.returncode != 0:
            raise RuntimeError("session list --json rc=%d: %s"
                               % (r.returncode, r.stderr.decode(errors="replace")))
        return [s["id"] for s in json_lines(r.stdout)]

    def session_show(self, sid):
        r = self.trap.cli("session", "show", sid, "--json")
        if r.returncode != 0:
            return None
        recs = json_lines(r.stdout)
        return recs[0] if recs else None

    def sessions_by_port(self, cache):
        """Adds {client port: session record} for sessions not yet in cache."""
        for sid in self.session_ids():
            if any(s.get("id") == sid for s in cache.values()):
                continue
            rec = self.session_show(sid)
            if rec is not None:
                p = client_port(rec.get("client"))
                if p is not None:
                    cache[p] = rec
        return cache


def walk_new(spool):
    """[(day, id, dir)] of every message directory under spool/new and cur."""
    out = []
    for state in ("new", "cur"):
        top = os.path.join(spool, state)
        if not os.path.isdir(top):
            continue
        for day in sorted(os.listdir(top)):
            dd = os.path.join(top, day)
            if not os.path.isdir(dd):
                continue
            for mid in sorted(os.listdir(dd)):
                out.append((day, mid, os.path.join(dd, mid)))
    return out


def validate_dir(d):
    """None if d holds a message matching its envelope, else why not."""
    try:
        with open(os.path.join(d, "message"), "rb") as f:
            body = f.read()
        with open(os.path.join(d, "envelope.json")) as f:
            env = json.load(f)
    except (OSError, ValueError) as e:
        return "unreadable: %s" % e
    if env.get("size") != len(body):
        return "size %r != %d" % (env.get("size"), len(body))
    if env.get("sha256") != sha256(body):
        return "sha256 mismatch"
    return None


class Raw:
    """A raw SMTP client socket for limit and recording tests."""

    def __init__(self, host, port, timeout=10, read_banner=True):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.f = self.s.makefile("rb")
        self.local_port = self.s.getsockname()[1]
        self.banner = read_reply(self.f) if read_banner else None

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return read_reply(self.f)

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        return read_reply(self.f)

    def wait_eof(self, timeout=5):
        """Reads until the server closes; returns (closed, bytes read).
        A reset counts as closed."""
        got = b""
        self.s.settimeout(timeout)
        try:
            while True:
                b = self.f.read1(4096)
                if not b:
                    return True, got
                got += b
        except socket.timeout:
            return False, got
        except (ConnectionResetError, BrokenPipeError):
            return True, got

    def reply_within(self, timeout):
        """One reply, waiting at most timeout s; b"" on EOF or reset;
        raises socket.timeout if nothing came."""
        self.s.settimeout(timeout)
        try:
            return read_reply(self.f)
        except (ConnectionResetError, BrokenPipeError):
            return b""

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass


def code(reply):
    """The 3-digit code of a reply (bytes) as int, or None."""
    try:
        return int(reply[:3])
    except (ValueError, TypeError):
        return None
