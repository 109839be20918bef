#!/usr/bin/env python3
"""Crash safety: 8 threads send messages concurrently; relaytrapd (every
process) is killed with SIGKILL in the middle, one message half-way through
DATA. Then every message the client saw 250 for is in the spool and
byte-identical, `relaytrap queue reindex` finds no corruption, tmp/
leftovers are purged at restart and the restarted trap serves again.
Messages cut short by a power cut (never acknowledged) are quarantined."""
import json
import os
import re
import smtplib
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for  # noqa: E402
from storelib import (Raw, Spool, code, queued_id, sha256, smtp_send,  # noqa: E402
                      walk_new, validate_dir)

THREADS = 8
KILL_AFTER = 60          # acked messages before the kill


def make_body(tid, n):
    mid = "<crash-%d-%d-%d@load.example>" % (os.getpid(), tid, n)
    pad = ("thread %d message %d " % (tid, n)) * (1 + (tid * 31 + n * 17) % 200)
    body = ("From: load%d@example.org\r\nTo: dropbox@example.com\r\n"
            "Message-ID: %s\r\nSubject: crash test %d/%d\r\n\r\n" % (tid, mid, tid, n))
    lines = [pad[i:i + 70] for i in range(0, len(pad), 70)]
    return (body + "\r\n".join(lines) + "\r\n").encode()


def plant_cut_short(spool):
    """What a power cut between the committer's rename and the journal's
    flush leaves (the message was never acknowledged): a directory in
    new/ with empty files, and one whose message lost its tail; and one
    whose message is a symbolic link. All get ids of an existing message's
    day. Returns the three ids."""
    src = next(p for _, _, p in walk_new(spool)) if list(walk_new(spool)) \
        else None
    if src is None:
        for day in sorted(os.listdir(os.path.join(spool, "cur"))):
            for i in sorted(os.listdir(os.path.join(spool, "cur", day))):
                src = os.path.join(spool, "cur", day, i)
                break
    base_id = os.path.basename(src)
    bucket = os.path.dirname(src).replace(os.sep + "cur" + os.sep,
                                          os.sep + "new" + os.sep)
    os.makedirs(bucket, exist_ok=True)
    taken = set()
    for st in ("new", "cur"):
        d = os.path.join(spool, st, os.path.basename(bucket))
        taken |= set(os.listdir(d)) if os.path.isdir(d) else set()
    ids = [base_id[:13] + "%03x" % n for n in range(4096)
           if base_id[:13] + "%03x" % n not in taken][:3]
    empty = os.path.join(bucket, ids[0])
    os.mkdir(empty)
    for f in ("message", "envelope.json"):
        open(os.path.join(empty, f), "wb").close()
    cut = os.path.join(bucket, ids[1])
    os.mkdir(cut)
    env = json.load(open(os.path.join(src, "envelope.json")))
    env["id"] = ids[1]
    with open(os.path.join(cut, "envelope.json"), "w") as f:
        json.dump(env, f)
    msg = open(os.path.join(src, "message"), "rb").read()
    with open(os.path.join(cut, "message"), "wb") as f:
        f.write(msg[:len(msg) // 2])
    # not a power cut: a message file that is a symbolic link
    link = os.path.join(bucket, ids[2])
    os.mkdir(link)
    env["id"] = ids[2]
    with open(os.path.join(link, "envelope.json"), "w") as f:
        json.dump(env, f)
    os.symlink(os.path.join(src, "message"), os.path.join(link, "message"))
    # the files are the SMTP role's (the trap's user when run as root)
    st = os.stat(src)
    for d in (empty, cut, link):
        for p in [d] + [os.path.join(d, f) for f in os.listdir(d)]:
            os.chown(p, st.st_uid, st.st_gid, follow_symlinks=False)
    return ids


def guard_powercut(t, trap):
    """Unacknowledged messages cut short by a power cut are quarantined by
    the worker (corrupt/<id>/ with a reason), not retried for ever."""
    ids = plant_cut_short(trap.spool)
    trap3 = Trap(t, spool=trap.spool, workdir=trap.dir)
    try:
        trap3.start()
        reasons = [os.path.join(trap.spool, "corrupt", i, "reason")
                   for i in ids]
        try:
            wait_for(lambda: all(os.path.exists(r) for r in reasons), 30,
                     what="the planted messages in corrupt/")
        except TimeoutError:
            pass
        t.ok(all(os.path.exists(r) for r in reasons),
             "cut-short messages (and a symbolic link) in new/ are "
             "quarantined by the worker", [os.path.exists(r) for r in reasons])
        why = [open(r).read() if os.path.exists(r) else "" for r in reasons]
        t.ok("envelope.json" in why[0] and "size" in why[1] and
             "symbolic links" in why[2], "their reasons say what is wrong",
             why)
        lst = trap3.cli("queue", "list", "--json").stdout.decode()
        states = {json.loads(l)["id"]: json.loads(l).get("state")
                  for l in lst.splitlines() if l.strip()}
        t.is_([states.get(i) for i in ids], ["corrupt"] * 3,
              "queue list shows them as corrupt")
        c, resp = smtp_send(trap3.host, trap3.port, make_body(98, 0))
        t.ok(c == 250, "the trap serves on", resp)
        t.is_(trap3.stop(), 0, "and stops cleanly")
    except Exception as e:  # noqa: BLE001
        t.ok(False, "start on a spool with cut-short messages",
             "%r\n%s" % (e, trap3.read_log()))
        trap3.stop()


def main():
    t = Tap()
    trap = Trap(t)
    trap.start()
    acked = []               # (qid, bytes)
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def worker(tid):
        n = 0
        while not stop.is_set():
            body = make_body(tid, n)
            n += 1
            try:
                s = smtplib.SMTP(trap.host, trap.port, timeout=10)
                s.ehlo("load%d.example" % tid)
                # several messages per session, like a bulk sender
                for _ in range(3):
                    s.mail("load%d@example.org" % tid)
                    s.rcpt("dropbox@example.com")
                    c, resp = s.data(body)
                    if c == 250:
                        with lock:
                            acked.append((queued_id(resp), body))
                    body = make_body(tid, n)
                    n += 1
                s.quit()
            except (smtplib.SMTPException, OSError) as e:
                if not stop.is_set():
                    with lock:
                        errors.append(repr(e))
                return

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(THREADS)]
    for th in threads:
        th.start()
    half = None
    try:
        wait_for(lambda: len(acked) >= KILL_AFTER, 60, what="%d acked" % KILL_AFTER)
        # one message stays half-way through DATA: a tmp/ leftover at the kill
        tmpdir = os.path.join(trap.spool, "tmp")
        before_tmp = set(os.listdir(tmpdir))
        half = Raw(trap.host, trap.port)
        half.cmd(b"EHLO half.example")
        half.cmd(b"MAIL FROM:<half@example.org>")
        half.cmd(b"RCPT TO:<dropbox@example.com>")
        r = half.cmd(b"DATA")
        half.send(b"Subject: never finished\r\n\r\n" + b"partial line\r\n" * 200)
        try:
            wait_for(lambda: set(os.listdir(tmpdir)) - before_tmp, 5,
                     what="the half message in tmp/")
        except TimeoutError:
            t.diag("no new entry in tmp/ for the half message (DATA reply %r)" % r)
    except TimeoutError as e:
        t.diag(str(e))
    # the crash, in the middle of the load
    stop.set()
    trap.kill9()
    for th in threads:
        th.join(15)
    if half:
        half.close()
    with lock:
        acked_now = list(acked)
    left = subprocess.run(["pgrep", "-f", "relaytrapd .*-s %s" % trap.spool],
                          stdout=subprocess.PIPE).stdout.split()
    t.ok(not left, "kill -9 left no relaytrapd process behind", left)
    t.ok(len(acked_now) >= KILL_AFTER, "load: %d messages acked before the kill"
         % len(acked_now), errors[:5])
    t.diag("client errors before the kill: %d" % len(errors))
    tmp_left = os.listdir(os.path.join(trap.spool, "tmp"))
    t.diag("tmp/ entries after the kill: %d" % len(tmp_left))

    # every 250'd message, on disk, before anything else touches the spool
    bad = [(d, m, why) for d, m, p in walk_new(trap.spool)
           for why in [validate_dir(p)] if why]
    t.ok(not bad, "every message directory in new/ validates after the kill", bad[:10])

    r = trap.cli("queue", "reindex")
    out = (r.stdout + r.stderr).decode(errors="replace")
    t.is_(r.returncode, 0, "queue reindex exits 0")
    corrupt = os.path.join(trap.spool, "corrupt")
    t.ok(not os.path.isdir(corrupt) or not os.listdir(corrupt),
         "queue reindex quarantines nothing", out)
    nums = re.findall(r"\b(corrupt|quarantined) (\d+)", out)
    t.ok(nums and all(n == "0" for _, n in nums),
         "queue reindex reports corrupt 0, quarantined 0", out)

    spool = Spool(trap)
    try:
        by_qid = spool.by_queue_id()
    except RuntimeError as e:
        t.diag(str(e))
        by_qid = {}
    missing, differ = [], []
    for qid, body in acked_now:
        env = by_qid.get(qid)
        if env is None:
            missing.append(qid)
            continue
        got = spool.cat(env["id"])
        if got != body or env.get("sha256") != sha256(body) or env.get("size") != len(body):
            differ.append(qid)
    t.ok(not missing, "every 250'd message is in the spool (%d)" % len(acked_now),
         "missing: %s" % missing[:20])
    t.ok(not differ, "every 250'd message is byte-identical (queue cat, size, sha256)",
         "differ: %s" % differ[:20])
    half_stored = [e for e in by_qid.values() if (e.get("mail_from") or {}).get("addr")
                   == "half@example.org"]
    t.ok(not half_stored, "the half-received message is not in the spool", half_stored)

    # restart on the same spool
    trap2 = Trap(t, spool=trap.spool, workdir=trap.dir)
    try:
        trap2.start()
        tmp = os.path.join(trap.spool, "tmp")
        t.ok(not os.listdir(tmp), "tmp/ leftovers purged at restart (%d before)"
             % len(tmp_left), os.listdir(tmp))
        body = make_body(99, 0)
        c, resp = smtp_send(trap2.host, trap2.port, body)
        t.ok(c == 250 and queued_id(resp), "restarted trap serves a new message", resp)
        env = Spool(trap2).by_queue_id().get(queued_id(resp)) or {}
        t.ok(env and Spool(trap2).cat(env["id"]) == body,
             "the new message is stored byte-identical", env)
        n_after = len(Spool(trap2).ids())
        t.ok(n_after >= len(acked_now) + 1, "nothing acked was lost by the restart",
             "%d listed, %d acked + 1" % (n_after, len(acked_now)))
        rc = trap2.stop()
        t.is_(rc, 0, "restarted trap stops cleanly on SIGTERM")
    except Exception as e:  # noqa: BLE001
        t.ok(False, "restart on the same spool", "%r\n%s" % (e, trap2.read_log()))
        trap2.stop()
    guard_powercut(t, trap)
    if t.failed:
        t.diag("relaytrapd log kept in " + trap.logpath)
    else:
        trap.cleanup()
    t.done()


if __name__ == "__main__":
    main()
