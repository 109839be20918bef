#!/usr/bin/env python3
"""relaytrapd without -f: it detaches and logs to syslog, facility mail,
from every process (the parent, and the SMTP and worker roles after they
dropped privileges and the SMTP role chrooted), one key=value line per
event with the session or message id, client text escaped.

The syslog socket is a datagram socket this test binds; relaytrapd runs
in a mount namespace of its own (unshare) where /dev is a tmpfs holding
null, zero, random, urandom and a /dev/log symlink to that socket, so
nothing of the machine's own logging is touched or needed."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, NO_DNS, RELAYTRAP, RELAYTRAPD, RUN_USER, wait_for  # noqa: E402
from storelib import Raw, code  # noqa: E402

LOG_MAIL = 2
LINE = re.compile(r"^<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) ([^\[\s]+)\[(\d+)\]: (.*)$", re.S)

NAMESPACE = r"""
set -e
mkdir -p "$RT_D/olddev"
mount --bind /dev "$RT_D/olddev"
mount -t tmpfs -o mode=755 rt-test-dev /dev
for n in null zero random urandom full; do
    : > /dev/$n
    mount --bind "$RT_D/olddev/$n" /dev/$n
done
ln -s "$RT_D/log" /dev/log
exec "$@"
"""


class Syslog:
    """The receiving end of /dev/log: parsed datagrams."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        os.chmod(path, 0o666)   # the roles write as RUN_USER
        self.lines = []
        self.raw = []

    def pump(self, timeout):
        self.s.settimeout(timeout)
        try:
            while True:
                b = self.s.recv(65536)
                self.raw.append(b)
                m = LINE.match(b.decode("utf-8", errors="replace"))
                self.lines.append(m.groups() if m else (None, None, None, None,
                                                        b.decode(errors="replace")))
                self.s.settimeout(0.01)
        except (socket.timeout, BlockingIOError):
            pass

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while not any(pred(x) for x in self.lines):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no syslog line: " + what)
            self.pump(min(left, 0.2))

    def text(self):
        return "\n".join("%s %s[%s]: %s" % (x[2], x[2], x[3], x[4]) for x in self.lines)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def pid_by_spool(spool):
    """The detached relaytrapd parent serving spool (its -s argument is this
    test's own temporary directory), or None: so that a failed run does
    not leave a daemon behind."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/status" % d) as f:
                root = any(l.startswith("Uid:") and l.split()[1] == "0" for l in f)
        except OSError:
            continue
        if root and spool.encode() in argv and os.path.basename(argv[0]) == b"relaytrapd":
            return int(d)
    return None


def main():
    t = Tap()
    if os.geteuid() != 0:
        t.skip_all("needs root (a mount namespace for /dev/log)")
    if shutil.which("unshare") is None:
        t.skip_all("unshare (util-linux) is not installed")
    d = tempfile.mkdtemp(prefix="rt-syslog-")
    os.chmod(d, 0o755)
    log = Syslog(os.path.join(d, "log"))
    spool = os.path.join(d, "spool")
    argv = [RELAYTRAPD, "-c", "/dev/null", "-l", "127.0.0.1:0", "-s", spool,
            "-o", "user = %s" % RUN_USER, "-o", "resolver = %s" % NO_DNS,
            "-o", "analyzers = {}"]
    p = subprocess.run(["unshare", "--mount", "--propagation", "private",
                        "sh", "-c", NAMESPACE, "sh"] + argv,
                       env=dict(os.environ, RT_D=d), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=30)
    out = p.stdout.decode(errors="replace")
    m = re.search(r"listening 127\.0\.0\.1:(\d+)", out)
    t.ok(p.returncode == 0 and m is not None,
         "without -f relaytrapd detaches (exit 0) after printing its listener",
         out + p.stderr.decode(errors="replace"))
    if m is None:
        t.done()
    port = int(m.group(1))
    pid = None
    try:
        def lock_pid():
            # the detached child writes its pid over the parent's
            with open(os.path.join(spool, "relaytrapd.lock")) as f:
                p = f.read().split()
            return int(p[0]) if p and pid_alive(int(p[0])) else None
        try:
            pid = wait_for(lock_pid, 10, what="a live pid in the spool lock")
        except TimeoutError as e:
            t.ok(False, "the detached daemon runs (its pid in the spool lock)", str(e))
            t.done()
        t.ok(True, "the detached daemon runs (pid %d from the spool lock)" % pid)

        c = Raw("127.0.0.1", port)
        t.ok(c.banner.startswith(b"220 "), "it serves", c.banner)
        c.cmd(b"EHLO evil\x1b[31m.example")
        c.cmd(b"MAIL FROM:<spammer@example.org>")
        c.cmd(b"RCPT TO:<dropbox@example.com>")
        c.cmd(b"DATA")
        r = c.cmd(b"Subject: syslog\r\n\r\nhello\r\n.")
        t.ok(code(r) == 250, "message accepted", r)
        c.cmd(b"QUIT")
        c.close()

        ls = subprocess.run([RELAYTRAP, "-s", spool, "queue", "list", "--json"],
                            stdout=subprocess.PIPE, timeout=30)
        ids = [json.loads(x)["id"] for x in ls.stdout.decode().splitlines() if x.strip()]
        mid = ids[0] if ids else "(none)"
        try:
            log.wait(lambda x: x[2] == "relaytrapd/smtp" and "smtp message id=%s" % mid
                     in x[4], 10, "message line")
            log.wait(lambda x: x[2] == "relaytrapd/smtp" and " smtp disconnect " in x[4],
                     10, "disconnect line")
            log.wait(lambda x: x[2] == "relaytrapd/worker", 10, "a worker line")
        except TimeoutError as e:
            t.diag(str(e))
        lines = log.lines
        t.ok(lines and all(x[0] is not None for x in lines),
             "every datagram is a syslog line <PRI>TIMESTAMP IDENT[PID]: TEXT",
             [x for x in lines if x[0] is None][:3])
        t.ok(lines and all(int(x[0]) >> 3 == LOG_MAIL for x in lines if x[0]),
             "every line has the mail facility", sorted({x[0] for x in lines}))
        idents = {x[2] for x in lines}
        t.ok({"relaytrapd", "relaytrapd/smtp", "relaytrapd/worker"} <= idents,
             "the parent, the SMTP role (chrooted) and the worker role all log", idents)
        msg = [x for x in lines if "smtp message id=%s" % mid in x[4]]
        t.ok(len(msg) == 1 and re.match(r"^[0-9a-f]{16} smtp message id=[0-9a-f]{16} "
                                        r"qid=\S+ from=spammer@example\.org nrcpt=1 "
                                        r"size=\d+$", msg[0][4]),
             "the message line: session id first, then key=value pairs", msg)
        conn = [x for x in lines if " smtp connect client=127.0.0.1 " in x[4]]
        t.ok(len(conn) == 1 and msg and conn[0][4].split()[0] == msg[0][4].split()[0],
             "the connect line carries the same session id", conn)
        t.ok(not any(b"\x1b" in b for b in log.raw),
             "no raw control byte from the client reaches syslog")
        helo = [x for x in lines if " smtp helo " in x[4]]
        t.ok(len(helo) == 1 and "name=evil\\x1b[31m.example" in helo[0][4],
             "the client's HELO is logged escaped", helo)
    finally:
        if pid is None:
            pid = pid_by_spool(spool)   # the lock was never read: find it
        if pid is not None and pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while pid_alive(pid) and time.monotonic() < deadline:
                log.pump(0.05)
            t.ok(not pid_alive(pid), "SIGTERM stops the detached daemon")
            try:
                log.wait(lambda x: x[2] == "relaytrapd" and "stopping on signal 15" in x[4],
                         5, "stop line")
                t.ok(True, "its stop is logged to syslog")
            except TimeoutError as e:
                t.ok(False, "its stop is logged to syslog", str(e))
    if t.failed:
        t.diag(log.text()[-4000:])
        t.diag("work files kept in " + d)
    else:
        shutil.rmtree(d, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
