"""rtlib -- shared harness for relaytrap integration tests.

Every test script prints TAP (automake's tap-driver.sh reads it). Tests start
the real relaytrapd on 127.0.0.1 port 0 (the daemon prints
"listening ADDR:PORT" for each listener), drive it with real clients, and stop
it. Nothing here talks to anything but loopback.

    from rtlib import Tap, Trap
    t = Tap()
    with Trap(t, options={"persona": "postfix"}) as trap:
        ...
        t.ok(cond, "name")
    t.done()
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOP_SRCDIR = os.environ.get("RT_TOP_SRCDIR",
                            os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
TOP_BUILDDIR = os.environ.get("RT_TOP_BUILDDIR", TOP_SRCDIR)
SHARED_DIR = os.environ.get("RT_SHARED_DIR", os.path.join(TOP_SRCDIR, "..", "shared"))
FIXTURES = os.path.join(TOP_SRCDIR, "tests", "fixtures")
RELAYTRAPD = os.path.join(TOP_BUILDDIR, "relaytrapd")
RELAYTRAP = os.path.join(TOP_BUILDDIR, "relaytrap")
# A loopback DNS "server" where nothing listens: lookups fail at once and
# nothing is sent off the machine.
NO_DNS = '{"127.0.0.1:1"}'
# The trap drops root; tests running as root hand it this existing user.
RUN_USER = os.environ.get("RT_TEST_USER", "nobody")


class Tap:
    """Minimal TAP producer: ok(), is_(), skip(), done()."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, name))
        if not cond and diag is not None:
            for line in str(diag).splitlines()[:40]:
                print("#   " + line)
        sys.stdout.flush()
        return bool(cond)

    def is_(self, got, want, name):
        return self.ok(got == want, name, "got:  %r\nwant: %r" % (got, want))

    def skip(self, name, why):
        self.n += 1
        print("ok %d - %s # SKIP %s" % (self.n, name, why))
        sys.stdout.flush()

    def skip_all(self, why):
        print("1..0 # SKIP %s" % why)
        sys.exit(0)

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line)
        sys.stdout.flush()

    def done(self):
        print("1..%d" % self.n)
        sys.stdout.flush()
        sys.exit(1 if self.failed else 0)


def wait_for(cond, timeout=10.0, interval=0.02, what="condition"):
    """Poll cond() until it returns a true value or the deadline passes.
    Returns the value, or raises TimeoutError naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def tool(name):
    """Path of an external tool, or None (the test then skips that part)."""
    for d in ("/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Trap:
    """A relaytrapd run: temp spool, listeners on port 0, stderr to a log."""

    def __init__(self, tap=None, listeners=("127.0.0.1:0",), options=None,
                 config=None, spool=None, extra_args=(), workdir=None):
        self.tap = tap
        self.listeners = list(listeners)
        self.options = dict(options or {})
        self.config = config
        self.extra_args = list(extra_args)
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="rt-test-")
        os.chmod(self.dir, 0o755)
        self.spool = spool or os.path.join(self.dir, "spool")
        self.events = os.path.join(self.dir, "events.jsonl")
        self.logpath = os.path.join(self.dir, "relaytrapd.log")
        self.proc = None
        self.addrs = []          # [(host, port)] in listener order

    # -- life cycle ---------------------------------------------------
    def argv(self):
        args = [RELAYTRAPD, "-f", "-s", self.spool]
        if self.config:
            args += ["-c", self.config]
        else:
            args += ["-c", "/dev/null"]
        for l in self.listeners:
            args += ["-l", l]
        # DNS (SPF, PTR, MX) must never leave the machine in tests: point
        # the resolver at a loopback port where nothing answers, unless a
        # test runs its own DNS server and says so
        opts = {"event_log": '"%s"' % self.events, "resolver": NO_DNS}
        if os.geteuid() == 0:
            opts["user"] = RUN_USER
        opts.update(self.options)
        for k, v in opts.items():
            args += ["-o", "%s = %s" % (k, v)]
        return args + self.extra_args

    def start(self, timeout=15):
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE,
                                     stderr=self.log, stdin=subprocess.DEVNULL)
        self.addrs = []
        deadline = time.monotonic() + timeout
        while len(self.addrs) < len(self.listeners):
            if time.monotonic() > deadline:
                raise TimeoutError("relaytrapd did not report its listeners; log:\n"
                                   + self.read_log())
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                raise RuntimeError("relaytrapd exited (rc=%s); log:\n%s"
                                   % (self.proc.wait(), self.read_log()))
            if line.startswith("listening "):
                hp = line.split(None, 1)[1].strip()
                host, port = hp.rsplit(":", 1)
                self.addrs.append((host.strip("[]"), int(port)))
        # the banner proves the SMTP role is serving
        wait_for(self._banner_ready, timeout, what="SMTP banner")
        return self

    def _banner_ready(self):
        if self.addrs and self.listeners[0].startswith(("tls:", "proxy:")):
            return True
        try:
            with socket.create_connection(self.addrs[0], timeout=2) as s:
                return s.recv(512).startswith(b"220")
        except OSError:
            return False

    @property
    def host(self):
        return self.addrs[0][0]

    @property
    def port(self):
        return self.addrs[0][1]

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc.stdout.close()
        self.proc = None
        self.log.close()
        # a killed parent may leave role processes behind; end them
        subprocess.run(["pkill", "-KILL", "-f", "relaytrapd .*-s %s" % self.spool],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return rc

    def kill9(self):
        """SIGKILL the whole daemon (parent and roles), as a crash would."""
        pattern = "relaytrapd .*-s %s" % self.spool
        subprocess.run(["pkill", "-KILL", "-f", pattern],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # a process inside fdatasync() dies once the disk answers
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and subprocess.run(
                ["pgrep", "-f", pattern], stdout=subprocess.DEVNULL).returncode == 0:
            subprocess.run(["pkill", "-KILL", "-f", pattern],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.05)
        if self.proc is not None:
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
            self.log.close()

    def cleanup(self):
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is None:
            self.cleanup()
        elif self.tap is not None:
            self.tap.diag("relaytrapd log kept in " + self.logpath)
        return False

    # -- evidence -----------------------------------------------------
    def read_log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")[-8000:]
        except OSError:
            return ""

    def event_type_conflicts(self):
        """Keys of the event log that carry values of more than one JSON
        type across events (null aside): each is a mapping conflict in a
        single Elasticsearch index. {key: sorted types}."""
        def kind(v):
            return "number" if type(v) in (int, float) else type(v).__name__
        kinds = {}
        for e in self.read_events():
            for k, v in e.items():
                # Elasticsearch has no array type: ["a"] maps like "a"
                for x in (v if isinstance(v, list) else [v]):
                    if x is not None:
                        kinds.setdefault(k, set()).add(kind(x))
        return {k: sorted(v) for k, v in kinds.items() if len(v) > 1}

    def read_events(self):
        out = []
        try:
            with open(self.events) as f:
                for line in f:
                    if line.strip():
                        out.append(json.loads(line))
        except FileNotFoundError:
            pass
        return out

    def cli_conf(self):
        """A configuration for the CLI whose DNS stays on loopback."""
        path = os.path.join(self.dir, "cli.conf")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("resolver = %s\n" % self.options.get("resolver", NO_DNS))
        return path

    def cli(self, *args, input=None, check=False):
        """Run `relaytrap -s SPOOL args...`; returns CompletedProcess (bytes)."""
        return subprocess.run([RELAYTRAP, "-c", self.cli_conf(), "-s", self.spool] + list(args),
                              input=input, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=check, timeout=120)

    def messages(self):
        """All messages as dicts from `relaytrap queue list --json`."""
        r = self.cli("queue", "list", "--json")
        return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]

    def wait_messages(self, n, timeout=20):
        return wait_for(lambda: (lambda m: m if len(m) >= n else None)(self.messages()),
                        timeout, what="%d messages in the queue" % n)


def smtp_dialog(host, port, lines, timeout=10):
    """Send raw lines one at a time (each waits for its reply); returns the
    list of replies (bytes). lines are bytes without CRLF, or None to only
    read (the banner)."""
    s = socket.create_connection((host, port), timeout=timeout)
    replies = []
    try:
        f = s.makefile("rb")
        replies.append(read_reply(f))
        for l in lines:
            s.sendall(l + b"\r\n")
            replies.append(read_reply(f))
    finally:
        s.close()
    return replies


def read_reply(f):
    """Read one SMTP reply (multi-line aware) from a binary file object."""
    out = b""
    while True:
        line = f.readline()
        if not line:
            return out
        out += line
        if len(line) < 4 or line[3:4] != b"-":
            return out


def send_proxied(host, port, src, subject, body):
    """One message through a proxy: listener as if from client address
    src (PROXY v1); returns the reply code to the final dot (bytes)."""
    s = socket.create_connection((host, port), timeout=20)
    f = s.makefile("rb")
    s.sendall(("PROXY TCP4 %s 198.51.100.25 40000 25\r\n" % src).encode())
    read_reply(f)
    for c in (b"EHLO bot.example", b"MAIL FROM:<x@example.org>",
              b"RCPT TO:<y@example.net>", b"DATA"):
        s.sendall(c + b"\r\n")
        read_reply(f)
    s.sendall(("Subject: %s\r\n\r\n%s\r\n.\r\n" % (subject, body)).encode())
    code = read_reply(f)[:3]
    s.sendall(b"QUIT\r\n")
    s.close()
    return code
