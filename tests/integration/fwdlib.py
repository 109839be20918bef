"""fwdlib -- helpers for the forwarder integration test (issue 3): a real
DNS server (unbound) serving test zones on a free loopback port, real SMTP
receivers (Postfix's smtp-sink) standing in for MX hosts, and a parser for
the messages they dump. Loopback only.

    dns = Unbound(workdir).start()          # dns.port; dns.stop()
    sink = Sink(workdir, "127.0.0.1", port).start()
    msgs = sink.messages()                  # [SinkMessage]
    sink.stop()
"""
import fcntl
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

from rtlib import TOP_SRCDIR, free_port, tool, wait_for

DNS_DIR = os.path.join(TOP_SRCDIR, "tests", "dns")


_started = []     # every Unbound and Sink started, for stop_all()


def stop_all():
    """stop every server this module started (idempotent; for finally:)"""
    for x in _started:
        x.stop()


def _proc_stop(proc, timeout=10):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- DNS -----------------------------------------------------------------
def dns_query(port, name, qtype=15, host="127.0.0.1", timeout=1.0):
    """One UDP query; returns (rcode, ancount) or None when nothing answers.
    qtype 15 = MX, 1 = A, 28 = AAAA."""
    qid = random.randrange(65536)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        pkt += bytes([len(label)]) + label.encode()
    pkt += b"\x00" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(pkt, (host, port))
            data = s.recv(4096)
        except OSError:
            return None
    if len(data) < 12 or struct.unpack(">H", data[:2])[0] != qid:
        return None
    flags, _, an = struct.unpack(">HHH", data[2:8])
    return (flags & 0x0f, an)


class Unbound:
    """unbound on 127.0.0.1:PORT serving tests/dns/zones.conf (via
    tests/dns/unbound-conf.sh) plus tests/dns/forward-zones.conf."""

    def __init__(self, workdir, zones=("forward-zones.conf",)):
        self.dir = os.path.join(workdir, "unbound")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.zones = [os.path.join(DNS_DIR, z) for z in zones]
        self.port = None
        self.proc = None
        self.logpath = os.path.join(self.dir, "unbound.log")

    @staticmethod
    def available():
        return tool("unbound") is not None

    def start(self, probe="pref.fwd.test", timeout=15):
        self.port = free_port()
        conf = subprocess.run(["sh", os.path.join(DNS_DIR, "unbound-conf.sh"),
                               self.dir, str(self.port)], check=True,
                              stdout=subprocess.PIPE).stdout.decode()
        for z in self.zones:
            conf += 'server:\n\tinclude: "%s"\n' % z
        path = os.path.join(self.dir, "unbound.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([tool("unbound"), "-d", "-c", path],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        _started.append(self)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited: " + self.read_log())
            r = dns_query(self.port, probe, timeout=0.3)
            return r is not None and r[0] == 0 and r[1] > 0
        wait_for(ready, timeout, what="unbound on port %d" % self.port)
        return self

    def read_log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self):
        _proc_stop(self.proc)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None


# -- SMTP receivers ------------------------------------------------------
class SinkMessage:
    """One transaction dumped by smtp-sink -d: client address, HELO, MAIL
    and RCPT arguments and the message (LF line ends: smtp-sink strips CR
    and ends the dump with one empty line, which is removed here)."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            raw = f.read()
        self.client = None
        self.helo = None
        self.mail = None
        self.rcpts = []
        lines = raw.split(b"\n")
        i = 0
        while i < len(lines):
            l = lines[i]
            if l.startswith(b"X-Client-Addr: "):
                self.client = l[15:].decode()
            elif l.startswith(b"X-Helo-Args: "):
                self.helo = l[13:].decode()
            elif l.startswith(b"X-Mail-Args: "):
                self.mail = l[13:].decode()
            elif l.startswith(b"X-Rcpt-Args: "):
                self.rcpts.append(l[13:].decode())
            elif l.startswith(b"X-Client-Proto: "):
                pass
            elif l.startswith(b"Received: "):
                # smtp-sink's own three-line Received header
                i += 1
                while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                    i += 1
                break
            i += 1
        body = b"\n".join(lines[i:])
        if body.endswith(b"\n\n"):
            body = body[:-1]
        self.data = body

    @property
    def sender(self):
        """the MAIL FROM address without <> and parameters"""
        a = (self.mail or "").split(" ")[0]
        return a[1:-1] if a.startswith("<") and a.endswith(">") else a

    @property
    def rcpt_addrs(self):
        out = []
        for r in self.rcpts:
            a = r.split(" ")[0]
            out.append(a[1:-1] if a.startswith("<") and a.endswith(">") else a)
        return out

    def split_received(self):
        """(first header with its continuation lines, rest) of the data"""
        lines = self.data.split(b"\n")
        i = 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
        return b"\n".join(lines[:i]) + b"\n", b"\n".join(lines[i:])


class Sink:
    """smtp-sink on ADDR:PORT dumping every transaction into its own file.
    reject: list of commands answered with a hard 5xx (-f), soft: with a
    4xx (-r)."""

    def __init__(self, workdir, host="127.0.0.1", port=None, reject=(),
                 soft=(), name=None):
        self.host = host
        self.port = port or free_port()
        self.name = name or "sink-%s-%d" % (host.replace(":", "_"), self.port)
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o777)   # smtp-sink writes as nobody
        self.reject = list(reject)
        self.soft = list(soft)
        self.proc = None
        self.logpath = os.path.join(workdir, self.name + ".log")

    @staticmethod
    def available():
        return tool("smtp-sink") is not None

    def argv(self):
        a = [tool("smtp-sink"), "-d", os.path.join(self.dir, "%H%M%S."),
             "-h", self.name]
        if os.geteuid() == 0:
            a += ["-u", "nobody"]
        if self.reject:
            a += ["-f", ",".join(self.reject)]
        if self.soft:
            a += ["-r", ",".join(self.soft)]
        hp = "[%s]:%d" % (self.host, self.port) if ":" in self.host \
            else "%s:%d" % (self.host, self.port)
        return a + [hp, "100"]

    def start(self, timeout=10):
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        _started.append(self)
        fam = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("smtp-sink exited rc=%s: %s"
                                   % (self.proc.returncode, self.read_log()))
            try:
                with socket.socket(fam) as s:
                    s.settimeout(2)
                    s.connect((self.host, self.port))
                    banner = s.recv(512)
                    # our own receiver, not another one on the same port
                    ok = banner.startswith(b"220 " + self.name.encode())
                    s.sendall(b"QUIT\r\n")
                    return ok
            except OSError:
                return False
        wait_for(ready, timeout, what="smtp-sink on %s:%d" % (self.host, self.port))
        return self

    def read_log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    def files(self):
        return sorted(os.path.join(self.dir, f) for f in os.listdir(self.dir))

    def messages(self):
        """completed dumps (smtp-sink writes a file while receiving; a file
        is complete once it ends with the empty line)"""
        out = []
        for p in self.files():
            with open(p, "rb") as f:
                raw = f.read()
            if raw.endswith(b"\n\n"):
                out.append(SinkMessage(p))
        return out

    def stop(self):
        _proc_stop(self.proc)
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()
            self.log = None


class PortLock:
    """An exclusive lock (flock on a file in /tmp) on a fixed port such as
    25, so concurrent runs of the test take turns. acquire() waits up to
    timeout seconds and returns False when the port stays taken."""

    def __init__(self, port):
        self.path = os.path.join(tempfile.gettempdir(), "rt-fwd-port%d.lock" % port)
        self.fd = None

    def acquire(self, timeout=30):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)

        def try_lock():
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        try:
            return wait_for(try_lock, timeout, interval=0.1, what="lock " + self.path)
        except TimeoutError:
            os.close(self.fd)
            self.fd = None
            return False

    def release(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def port_free(host, port):
    """True when nothing listens on host:port and we may bind it."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def lf(data):
    """the stored message as smtp-sink dumps it: CR removed from CRLF"""
    return data.replace(b"\r\n", b"\n")


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)


def now():
    return time.monotonic()
