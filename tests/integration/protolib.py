"""protolib -- helpers for the protocol integration tests (test_smtp_dialog,
test_relay_forms, test_clients, test_data, test_proxy). Built on rtlib;
Python 3 stdlib only; loopback only. No sleeps: every wait has a deadline.
"""
import json
import os
import re
import socket
import struct
import subprocess
import time

from rtlib import wait_for, tool

HOSTNAME = "mail.example.net"
PERSONAS = ("postfix", "sendmail", "exim")


def persona_opts(persona, **extra):
    """Trap options for a persona with a fixed hostname."""
    o = {"persona": persona, "hostname": '"%s"' % HOSTNAME}
    o.update(extra)
    return o


class Conn:
    """A raw SMTP client on a socket with its own buffer. reply() reads one
    complete (multi-line aware) reply; every read has a deadline."""

    def __init__(self, host, port, timeout=10, read_banner=True, sock=None,
                 family=None):
        self.timeout = timeout
        if sock is not None:
            self.s = sock
        else:
            self.s = socket.create_connection((host, port), timeout=timeout)
        self.s.settimeout(timeout)
        self._lport = self.s.getsockname()[1]
        self.buf = b""
        self.eof = False
        self.banner = self.reply() if read_banner else None

    @property
    def local_port(self):
        """The client's port (kept after close, for finding records)."""
        return self._lport

    def send(self, data):
        self.s.sendall(data)

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("reply deadline passed")
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def line(self, timeout=None):
        """One line with its CRLF, or what is left at EOF (b"" at EOF)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            if self.eof or not self._fill(deadline):
                out, self.buf = self.buf, b""
                return out
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def reply(self, timeout=None):
        """One complete reply (bytes, CRLFs kept); b"" at EOF."""
        out = b""
        while True:
            l = self.line(timeout)
            if not l:
                return out
            out += l
            if len(l) < 4 or l[3:4] != b"-":
                return out

    def recv_once(self, timeout=None):
        """Exactly one recv() (what a get_once/receive_lines client sees)."""
        if self.buf:
            out, self.buf = self.buf, b""
            return out
        self.s.settimeout(timeout or self.timeout)
        return self.s.recv(65536)

    def quiet_for(self, seconds):
        """True if nothing at all arrives (and no EOF) within seconds. Used
        only to show the ABSENCE of a reply, never to synchronise."""
        if self.buf:
            return False
        self.s.settimeout(seconds)
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return True
        if d:
            self.buf += d
        else:
            self.eof = True
        return False

    def wait_eof(self, timeout=10):
        """Read until EOF; returns all bytes read (b"" if none). Raises
        socket.timeout if the peer keeps the connection open."""
        deadline = time.monotonic() + timeout
        out, self.buf = self.buf, b""
        while not self.eof:
            before = len(self.buf)
            if not self._fill(deadline):
                break
            out += self.buf[before:]
            self.buf = b""
        return out

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def code(reply):
    """The numeric code of a reply (int), or None."""
    m = re.match(rb"(\d{3})[ -]", reply or b"")
    return int(m.group(1)) if m else None


def lines(reply):
    """Reply lines without CRLF, as str."""
    return [l for l in reply.decode("utf-8", "replace").split("\r\n") if l]


def ehlo_keywords(reply):
    """EHLO reply -> (greeting line text, [extension lines text])."""
    ls = [l[4:] for l in lines(reply)]
    return (ls[0] if ls else ""), ls[1:]


def in_order(seq, wanted):
    """True if every element of wanted appears in seq in this order."""
    it = iter(seq)
    return all(any(w == s for s in it) for w in wanted)


def json_lines(b):
    out = []
    for l in b.decode("utf-8", "replace").splitlines():
        l = l.strip()
        if l:
            out.append(json.loads(l))
    return out


class Evidence:
    """What `relaytrap` shows about one trap's spool (cached per id)."""

    def __init__(self, trap):
        self.trap = trap
        self.cache = {}

    def ids(self):
        r = self.trap.cli("queue", "list", "--json")
        return [m["id"] for m in json_lines(r.stdout) if "id" in m]

    def show(self, mid):
        if mid not in self.cache:
            r = self.trap.cli("queue", "show", mid, "--json")
            if r.returncode != 0:
                return None
            try:
                self.cache[mid] = json.loads(r.stdout.decode("utf-8", "replace"))
            except ValueError:
                return None
        return self.cache[mid]

    def cat(self, mid):
        return self.trap.cli("queue", "cat", mid).stdout

    def envelopes(self):
        return [e for e in (self.show(i) for i in self.ids()) if e]

    def find(self, pred, timeout=20, what="a message"):
        """The first envelope satisfying pred, waiting up to timeout."""
        def look():
            for e in self.envelopes():
                try:
                    if pred(e):
                        return e
                except (KeyError, TypeError, IndexError):
                    pass
            return None
        return wait_for(look, timeout, interval=0.1, what=what)

    def by_from(self, addr, timeout=20):
        return self.find(lambda e: e["mail_from"]["addr"] == addr, timeout,
                         "message from %s" % addr)

    def sessions(self):
        """`relaytrap session list --json`: summaries (client is a string,
        messages and auth_attempts are counts)."""
        r = self.trap.cli("session", "list", "--json")
        return json_lines(r.stdout)

    def session_show(self, sid):
        """The full session record (client/peer objects, auth list,
        messages list, transcript...). Records are written once, at the
        end of the session, so they are cached."""
        key = "session:" + sid
        if key not in self.cache:
            r = self.trap.cli("session", "show", sid, "--json")
            if r.returncode != 0:
                return None
            try:
                self.cache[key] = json.loads(r.stdout.decode("utf-8", "replace"))
            except ValueError:
                return None
        return self.cache[key]

    def find_session(self, pred, timeout=20, what="a session", full=True):
        """First session (full record via `session show` when full) for
        which pred is true, waiting up to timeout."""
        def look():
            for s in self.sessions():
                rec = s
                if full and "id" in s:
                    rec = self.session_show(s["id"]) or s
                try:
                    if pred(rec):
                        return rec
                except (KeyError, TypeError, IndexError):
                    pass
            return None
        return wait_for(look, timeout, interval=0.1, what=what)


def client_port(rec):
    c = rec.get("client") or {}
    return c.get("port")


def finding(rec, name):
    """Count of a finding in an envelope/session record (0 if absent)."""
    f = rec.get("findings") or {}
    try:
        return int(f.get(name, 0))
    except (TypeError, ValueError):
        return 0


def run(argv, timeout=60, input=None):
    """Run a tool; returns CompletedProcess with str output (merged)."""
    return subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=timeout)


# -- PROXY protocol headers (REFERENCE.md 5.1) ------------------------
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v1(src, dst, sport, dport, fam="TCP4"):
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def proxy_v2(src=None, dst=None, sport=0, dport=0, command=1, version=2,
             tlvs=b""):
    """A v2 header. src/dst None with command 0 gives LOCAL/UNSPEC."""
    vc = bytes([(version << 4) | command])
    if src is None:
        fam, body = b"\x00", b""
    elif ":" in src:
        fam = b"\x21"
        body = (socket.inet_pton(socket.AF_INET6, src)
                + socket.inet_pton(socket.AF_INET6, dst)
                + struct.pack("!HH", sport, dport))
    else:
        fam = b"\x11"
        body = (socket.inet_pton(socket.AF_INET, src)
                + socket.inet_pton(socket.AF_INET, dst)
                + struct.pack("!HH", sport, dport))
    body += tlvs
    return V2_SIG + vc + fam + struct.pack("!H", len(body)) + body


def guard(t, name, fn, *args, **kw):
    """Run one test section; an exception (timeout, refused connection,
    daemon gone) becomes a failed TAP point with the traceback, so the rest
    of the file still runs."""
    import traceback
    try:
        return fn(*args, **kw)
    except Exception:
        t.ok(False, "%s: completed without exception" % name,
             traceback.format_exc())
        return None


def need_binaries(t):
    """Skip the whole file when relaytrapd/relaytrap are not built."""
    import rtlib
    for b in (rtlib.RELAYTRAPD, rtlib.RELAYTRAP):
        if not os.access(b, os.X_OK):
            t.skip_all("%s not built" % b)


def events(trap):
    """The event log's records; a line still being written is skipped."""
    out = []
    try:
        with open(trap.events, "rb") as f:
            for l in f.read().splitlines():
                try:
                    out.append(json.loads(l.decode("utf-8", "replace")))
                except ValueError:
                    pass
    except FileNotFoundError:
        pass
    return out
