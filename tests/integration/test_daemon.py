#!/usr/bin/env python3
"""relaytrapd as a daemon: -t with good and bad configurations, -o over the
file, SIGTERM (421 to open sessions, exit 0), the roles' user as root, and
retention removing an old day bucket while today's messages stay."""
import calendar
import json
import os
import pwd
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import shutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for, FIXTURES, RELAYTRAPD, RUN_USER  # noqa: E402
from storelib import Raw, Spool, code, queued_id, sha256, smtp_send  # noqa: E402


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def check(conf, spool, *extra):
    return subprocess.run([RELAYTRAPD, "-t", "-c", conf, "-s", spool] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=30)


def test_check(t, d):
    spool = os.path.join(d, "spool-t")
    os.makedirs(spool)
    good = write(os.path.join(d, "good.conf"),
                 '# a good configuration\n'
                 'hostname = "mx1.example.net"\n'
                 'persona = "exim"\n'
                 'listen = {"127.0.0.1:2525", "[::1]:2525"}\n'
                 'max_line_length = 1024\n'
                 'user = "%s"\n'
                 'retention_max_size = "2G"\n' % RUN_USER)
    r = check(good, spool)
    t.is_(r.returncode, 0, "-t with a good configuration exits 0")
    if r.returncode != 0:
        t.diag(r.stderr.decode(errors="replace"))

    cases = [
        ("unknown option", 'hostname = "a.example"\n\nfrobnicate = 1\n', 3),
        ("max_line_length out of range", 'max_line_length = 100\n', 1),
        ("max_line_length above the max", '\nmax_line_length = 10000000\n', 2),
        ("bad listen spec", '\n\nhostname = "b.example"\n'
                            'listen = {"127.0.0.1:99999"}\n', 4),
        ("listen without a port", 'listen = {"127.0.0.1"}\n', 1),
        # the sample relaytrap.conf is full of comments: lines must still count
        ("an error after comment lines", '# relaytrap.conf\n# limits\n'
                                         'max_line_length = 100\n', 3),
    ]
    for i, (what, text, line) in enumerate(cases):
        p = write(os.path.join(d, "bad%d.conf" % i), text)
        r = check(p, spool)
        err = r.stderr.decode(errors="replace")
        t.is_(r.returncode, 1, "-t with %s exits 1" % what)
        t.ok("%s:%d:" % (p, line) in err, "-t with %s names %s:%d" % (what, os.path.basename(p),
                                                                     line), err)
    r = check(good, spool, "-o", "max_commands = -5")
    t.is_(r.returncode, 1, "-t with a bad -o exits 1")
    r = check(good, spool, "-o", "persona = qmail")
    t.ok(r.returncode == 1 and b"-o 'persona = qmail': option 'persona'" in r.stderr,
         "-t blames a bad value from -o on the -o statement, not the file", r.stderr)

    # what the file cannot say about itself but the start needs: -t and
    # the start itself report it, instead of a worker that dies and is
    # restarted or a trap that quietly goes without STARTTLS
    mmdb = os.path.join(FIXTURES, "mmdb")
    starts = [
        ("an unknown analyzer", 'analyzers = {"origin", "nope"}\n',
         'unknown analyzer "nope"'),
        ("a missing GeoIP database",
         'geoip_db = {"%s"}\n' % os.path.join(d, "none.mmdb"), "none.mmdb"),
        ("a corrupt GeoIP database", 'geoip_db = {"%s"}\n' % os.path.join(
            mmdb, "libmaxminddb-offset-integer-overflow.mmdb"),
         "offset-integer-overflow"),
        ("tls_cert without tls_key", 'tls_cert = "%s"\n' % good,
         "go together"),
        ("a missing certificate", 'tls_cert = "%s"\ntls_key = "%s"\n' % (
            os.path.join(d, "none.pem"), good), "none.pem"),
        ("relaytest before the analyzers it reads",
         'analyzers = {"relaytest", "geoip", "campaign"}\n', '"relaytest" must come last'),
    ]
    if os.geteuid() == 0:
        # checked with the worker's rights, not root's
        ro = os.path.join(d, "root-only.mmdb")
        shutil.copy(os.path.join(mmdb, "GeoIP2-Country-Test.mmdb"), ro)
        os.chmod(ro, 0o600)
        user = 'user = "%s"\n' % RUN_USER
        starts += [
            ("a GeoIP database only root may read",
             user + 'geoip_db = {"%s"}\n' % ro, "root-only.mmdb"),
            ("a missing attachment_dir",
             user + 'attachment_dir = "%s"\n' % os.path.join(d, "no-dir"),
             "attachment_dir"),
            ("an attachment_dir the user may not write",
             user + 'attachment_dir = "%s"\n' % d, "may write"),
            ("user root", 'user = "root"\n', "refuses to keep running as root"),
        ]
    for i, (what, text, want) in enumerate(starts):
        p = write(os.path.join(d, "start%d.conf" % i),
                  'resolver = {"127.0.0.1:1"}\n' + text)
        r = check(p, spool)
        err = r.stderr.decode(errors="replace")
        t.ok(r.returncode == 1 and want in err,
             "-t with %s exits 1 and says so" % what, err)
    p = os.path.join(d, "start1.conf")
    r = subprocess.run([RELAYTRAPD, "-f", "-c", p, "-s", spool, "-l",
                        "127.0.0.1:0"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       timeout=30)
    t.ok(r.returncode == 1 and b"none.mmdb" in r.stderr and
         b"listening" not in r.stdout,
         "and relaytrapd with a missing GeoIP database does not start", r.stderr)


def test_override(t, d):
    conf = write(os.path.join(d, "persona.conf"),
                 'hostname = "file.example"\npersona = "postfix"\n')
    os.makedirs(os.path.join(d, "ov"))
    with Trap(t, config=conf, workdir=os.path.join(d, "ov"),
              options={"hostname": '"override.example"'}) as trap:
        c = Raw(trap.host, trap.port)
        t.ok(c.banner.startswith(b"220 override.example ESMTP Postfix"),
             "-o hostname overrides the file", c.banner)
        c.close()


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(p))
    return out


def uids(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("Uid:"):
                return [int(x) for x in l.split()[1:]]
    return []


def test_sigterm_and_user(t, d):
    os.makedirs(os.path.join(d, "term"))
    trap = Trap(t, workdir=os.path.join(d, "term"))
    trap.start()
    try:
        if os.geteuid() == 0:
            want = pwd.getpwnam(RUN_USER).pw_uid
            kids = wait_for(lambda: (lambda k: k if len(k) >= 2 else None)(
                children(trap.proc.pid)), 10, what="two role processes")
            got = {k: uids(k) for k in kids}
            t.ok(all(u and set(u) == {want} for u in got.values()),
                 "as root: the SMTP and worker roles run as %s (uid %d)" % (RUN_USER, want),
                 got)
            st = os.stat(trap.spool)
            t.is_(st.st_uid, want, "as root: the spool is owned by %s" % RUN_USER)
        else:
            t.skip("roles run as the configured user", "not root")
            t.skip("spool owned by the configured user", "not root")
        c = Raw(trap.host, trap.port)
        c.cmd(b"EHLO open.example")
        trap.proc.send_signal(signal.SIGTERM)
        try:
            r = c.reply_within(10)
        except socket.timeout:
            r = b"<nothing>"
        t.ok(code(r) == 421, "SIGTERM: an open session gets 421", r)
        closed, _ = c.wait_eof(5)
        t.ok(closed, "SIGTERM: the session is closed")
        c.close()
        try:
            rc = trap.proc.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        t.is_(rc, 0, "SIGTERM: relaytrapd exits 0")
        recs = {}
        sp = Spool(trap)
        try:
            wait_for(lambda: any(s.get("close") == "shutdown"
                                 for s in sp.sessions_by_port(recs).values()), 5,
                     what="a session closed by shutdown")
            t.ok(True, "SIGTERM: the open session is recorded with close shutdown")
        except (TimeoutError, RuntimeError) as e:
            t.ok(False, "SIGTERM: the open session is recorded with close shutdown",
                 "%s %r" % (e, [s.get("close") for s in recs.values()]))
    finally:
        trap.stop()


def test_parent_killed(t, d):
    """kill -9 of the parent alone: the roles must not serve on, orphaned
    and unsupervised; they stop, the port is free, and a new relaytrapd
    starts on the same spool and address."""
    os.makedirs(os.path.join(d, "orphan"))
    trap = Trap(t, workdir=os.path.join(d, "orphan"))
    trap.start()
    try:
        kids = wait_for(lambda: (lambda k: k if len(k) >= 2 else None)(
            children(trap.proc.pid)), 10, what="two role processes")
        port = trap.port
        trap.proc.send_signal(signal.SIGKILL)
        trap.proc.wait(10)

        def gone():
            return all(not os.path.exists("/proc/%d" % k) or
                       open("/proc/%d/stat" % k).read().split()[2] == "Z"
                       for k in kids)
        try:
            wait_for(gone, 15, what="the roles to exit")
            t.ok(True, "parent killed: both roles exit")
        except (TimeoutError, RuntimeError) as e:
            t.ok(False, "parent killed: both roles exit", str(e))
        os.makedirs(os.path.join(d, "orphan2"))
        again = Trap(t, listeners=("127.0.0.1:%d" % port,), spool=trap.spool,
                     workdir=os.path.join(d, "orphan2"))
        try:
            again.start()
            c = Raw(again.host, again.port)
            t.is_(code(c.banner), 220,
                  "a new relaytrapd serves the same address and spool")
            c.close()
        finally:
            again.stop()
    finally:
        for k in children(trap.proc.pid) if trap.proc.poll() is None else []:
            os.kill(k, signal.SIGKILL)


def test_spool_lock(t, d):
    """A second relaytrapd on a spool in use refuses to start (it would
    purge the first one's tmp/ and share its commit journal)."""
    os.makedirs(os.path.join(d, "lock"))
    trap = Trap(t, workdir=os.path.join(d, "lock"))
    trap.start()
    try:
        r = subprocess.run([RELAYTRAPD, "-f", "-c", "/dev/null", "-l",
                            "127.0.0.1:0", "-s", trap.spool, "-o",
                            'resolver = {"127.0.0.1:1"}'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        t.ok(r.returncode != 0, "a second relaytrapd on the spool exits",
             r.returncode)
        t.ok(b"in use by another relaytrapd (pid %d)" % trap.proc.pid
             in r.stderr, "and names the one that has it", r.stderr)
        t.ok(b"listening" not in r.stdout, "without listening")
    finally:
        trap.stop()


def free_low_port():
    """A port below 1024 free on 127.0.0.1 (root only), or None."""
    for port in random.sample(range(600, 1024), 40):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return None


def test_low_port(t, d):
    """As root relaytrapd binds a port below 1024 (25 on the internet), then
    serves it from roles that run as the configured user."""
    if os.geteuid() != 0:
        t.skip("a port below 1024", "not root")
        return
    port = free_low_port()
    if port is None:
        t.skip("a port below 1024", "none free on 127.0.0.1")
        return
    os.makedirs(os.path.join(d, "low"))
    trap = Trap(t, workdir=os.path.join(d, "low"), listeners=("127.0.0.1:%d" % port,))
    trap.start()
    try:
        t.is_(trap.port, port, "as root: listening on 127.0.0.1:%d (below 1024)" % port)
        c = Raw(trap.host, trap.port)
        t.ok(code(c.banner) == 220, "and serving it", c.banner)
        c.cmd(b"QUIT")
        c.close()
        want = pwd.getpwnam(RUN_USER).pw_uid
        kids = wait_for(lambda: (lambda k: k if len(k) >= 2 else None)(
            children(trap.proc.pid)), 10, what="two role processes")
        got = {k: uids(k) for k in kids}
        t.ok(all(u and set(u) == {want} for u in got.values()),
             "from roles that run as %s, not root" % RUN_USER, got)
    finally:
        trap.stop()


def test_foreign_spool(t, d):
    """A spool path that names somebody else's directory (say /var/spool,
    from a relative path started in /) is refused, not taken over."""
    foreign = os.path.join(d, "foreign")
    os.makedirs(os.path.join(foreign, "postfix"))
    with open(os.path.join(foreign, "cron"), "w") as f:
        f.write("not ours\n")
    before = os.stat(foreign)
    r = subprocess.run([RELAYTRAPD, "-f", "-c", "/dev/null", "-l", "127.0.0.1:0",
                        "-s", foreign, "-o", 'resolver = {"127.0.0.1:1"}',
                        "-o", "user = %s" % RUN_USER],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    after = os.stat(foreign)
    t.ok(r.returncode == 1 and b"not a relaytrap spool" in r.stderr
         and b"listening" not in r.stdout,
         "a directory holding other files is refused as the spool", r.stderr)
    t.ok(sorted(os.listdir(foreign)) == ["cron", "postfix"]
         and (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid),
         "and left as it was (no layout made, no owner changed)",
         (os.listdir(foreign), after.st_uid))


def old_id(day="20200101"):
    """A valid message id from 12:00:00 UTC of DAY (YYYYMMDD)."""
    t = calendar.timegm(time.strptime(day + " 12", "%Y%m%d %H"))
    us = t * 1000000 + random.randrange(1000000)
    return "%013x%03x" % (us, random.randrange(4096))


def ok_within(t, cond, timeout, name, diag=None):
    """One test point: cond() becomes true within timeout seconds; diag()
    explains a failure."""
    try:
        wait_for(cond, timeout, what=name)
        t.ok(True, name)
    except (TimeoutError, RuntimeError) as e:
        t.ok(False, name, "%s\n%s" % (e, diag() if diag else ""))


def test_retention(t, d):
    work = os.path.join(d, "ret")
    os.makedirs(work)
    trap = Trap(t, workdir=work)
    trap.start()
    body = b"Subject: today\r\n\r\nstays\r\n"
    c, resp = smtp_send(trap.host, trap.port, body)
    t.ok(c == 250, "retention: today's message accepted", resp)
    trap.stop()

    mid, bucket = old_message(trap, "20200101", b"Subject: from 2020\r\n\r\nold\r\n")
    r = trap.cli("queue", "reindex")
    spool = Spool(trap)
    t.ok(mid in spool.ids(), "retention: the hand-made 2020 message is listed after reindex",
         (r.stdout + r.stderr).decode(errors="replace"))

    trap2 = Trap(t, workdir=work, spool=trap.spool,
                 options={"retention_max_age": 30})
    trap2.start()
    try:
        ok_within(t, lambda: not os.path.exists(bucket), 20,
                  "retention_max_age=30: the 2020 day bucket is removed", trap2.read_log)
        sp2 = Spool(trap2)
        ok_within(t, lambda: mid not in sp2.ids(), 10,
                  "retention: the index follows (old id no longer listed)")
        today = sp2.by_queue_id().get(queued_id(resp)) or {}
        t.ok(today and sp2.cat(today["id"]) == body, "retention: today's message stays",
             today)
    finally:
        trap2.stop()

    # by size: a 300 KB day from 2020 and a small one after it; 150 KB
    # of spool allowed, so the oldest day goes and the next one stays
    big, big_bucket = old_message(trap, "20200102", b"Subject: big\r\n\r\n"
                                  + (b"x" * 998 + b"\r\n") * 300)
    small, small_bucket = old_message(trap, "20200103", b"Subject: small\r\n\r\nhi\r\n")
    trap.cli("queue", "reindex")
    trap3 = Trap(t, workdir=work, spool=trap.spool,
                 options={"retention_max_size": '"150K"'})
    trap3.start()
    try:
        ok_within(t, lambda: not os.path.exists(big_bucket), 20,
                  "retention_max_size=150K: the oldest day (300 KB) is removed",
                  trap3.read_log)
        sp3 = Spool(trap3)
        ok_within(t, lambda: big not in sp3.ids(), 10,
                  "retention by size: the index follows")
        ids = sp3.ids()
        t.ok(os.path.isdir(small_bucket) and small in ids,
             "retention by size: the next day stays once the spool is under the limit",
             ids)
        today = sp3.by_queue_id().get(queued_id(resp)) or {}
        t.ok(today and sp3.cat(today["id"]) == body,
             "retention by size: today's message stays", today)
        t.ok("reason=size" in trap3.read_log(), "retention by size: logged with its reason",
             trap3.read_log()[-2000:])
    finally:
        trap3.stop()


def old_message(trap, day, old):
    """Write a message by hand into new/DAY as the trap would have; return
    its id and the day bucket's path."""
    mid, sid = old_id(day), old_id(day)
    bucket = os.path.join(trap.spool, "new", day)
    mdir = os.path.join(bucket, mid)
    os.makedirs(mdir)
    y, m, dd = day[:4], day[4:6], day[6:]
    ts = "%s-%s-%sT12:00:00.000Z" % (y, m, dd)
    env = {
        "version": 1, "id": mid, "session": sid,
        "received": ts, "persona": "postfix",
        "hostname": "mail.example.net", "queue_id": "4C2B41A0D7F",
        "client": {"addr": "203.0.113.9", "port": 50123},
        "peer": {"addr": "203.0.113.9", "port": 50123}, "proxy": None,
        "server": {"addr": "127.0.0.1", "port": 2525},
        "helo": {"verb": "EHLO", "name": "old.example"},
        "mail_from": {"addr": "old@example.org", "raw": "FROM:<old@example.org>",
                      "flags": [], "size": None, "body": None, "smtputf8": False},
        "rcpt": [{"addr": "dropbox@example.com", "raw": "TO:<dropbox@example.com>",
                  "flags": []}],
        "auth": [], "tls": None,
        "timestamps": {"connect": ts, "mail": ts, "data": ts, "end": ts},
        "findings": {}, "transcript": [], "transcript_truncated": False,
        "size": len(old), "sha256": sha256(old),
    }
    with open(os.path.join(mdir, "message"), "wb") as f:
        f.write(old)
    with open(os.path.join(mdir, "envelope.json"), "w") as f:
        json.dump(env, f)
    st = os.stat(os.path.join(trap.spool, "new"))
    for p in (bucket, mdir, os.path.join(mdir, "message"), os.path.join(mdir, "envelope.json")):
        os.chown(p, st.st_uid, st.st_gid)
    return mid, bucket


def main():
    t = Tap()
    d = tempfile.mkdtemp(prefix="rt-daemon-")
    os.chmod(d, 0o755)
    failed_before = 0
    for f in (test_check, test_override, test_sigterm_and_user,
              test_parent_killed, test_spool_lock, test_low_port, test_foreign_spool,
              test_retention):
        try:
            f(t, d)
        except Exception as e:  # noqa: BLE001 - report, go on with the next
            t.ok(False, "%s ran to the end" % f.__name__, repr(e))
    if t.failed == failed_before:
        shutil.rmtree(d, ignore_errors=True)
    else:
        t.diag("work files kept in " + d)
    t.done()


if __name__ == "__main__":
    main()
