#!/usr/bin/env python3
"""Disk full: the spool on a 2 MB tmpfs, filled with big messages until the
trap answers 452 (or 451); nothing half-written in new/, the trap keeps
serving, and once a message is deleted a new one is accepted with 250.
Root only (mount)."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for  # noqa: E402
from storelib import (Raw, Spool, code, queued_id, smtp_send,  # noqa: E402
                      walk_new, validate_dir)

BIG = 300 * 1024


def big_body(n, size=BIG):
    head = ("Subject: disk filler %d\r\n\r\n" % n).encode()
    line = (b"%06d " % n) + b"f" * 68 + b"\r\n"
    return head + line * (size // len(line))


def fill(path):
    """Write zeros to path until the file system is full."""
    try:
        with open(path, "wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)
    except OSError:
        pass


def main():
    t = Tap()
    if os.geteuid() != 0:
        t.skip_all("needs root to mount a tmpfs")
    if shutil.which("mount") is None:
        t.skip_all("no mount(8)")
    top = tempfile.mkdtemp(prefix="rt-diskfull-")
    os.chmod(top, 0o755)
    mnt = os.path.join(top, "spool")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", mnt],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        os.rmdir(mnt)
        os.rmdir(top)
        t.skip_all("cannot mount tmpfs: %s" % r.stdout.decode(errors="replace").strip())
    trap = None
    try:
        trap = Trap(t, spool=mnt, workdir=top)
        trap.start()
        spool = Spool(trap)
        # the index exists before the disk fills (a reader cannot create
        # one on a full disk; it need not write one that exists)
        r = trap.cli("queue", "list")
        t.ok(r.returncode == 0, "queue list before filling", r.stderr)
        accepted, refusal = [], None
        for n in range(30):
            try:
                c, resp = smtp_send(trap.host, trap.port, big_body(n))
            except Exception as e:  # noqa: BLE001
                t.ok(False, "filling: message %d answered" % n, repr(e))
                break
            if c == 250:
                accepted.append(queued_id(resp))
                continue
            refusal = (c, resp)
            break
        t.diag("accepted %d big messages before the refusal" % len(accepted))
        t.ok(refusal is not None and refusal[0] in (452, 451),
             "disk full: end of data answered 452/451", refusal)
        t.ok(refusal is not None and refusal[0] == 452,
             "disk full (ENOSPC): 452 rather than 451", refusal)

        stored = walk_new(mnt)
        bad = [(d, m, why) for d, m, p in stored for why in [validate_dir(p)] if why]
        t.ok(not bad, "nothing half-written in new/: every message validates", bad[:10])
        t.is_(len(stored), len(accepted), "only the 250'd messages are in new/")
        tmp = os.path.join(mnt, "tmp")
        try:
            wait_for(lambda: not os.listdir(tmp), 5, what="tmp/ empty")
            t.ok(True, "the refused message left nothing in tmp/")
        except TimeoutError:
            t.ok(False, "the refused message left nothing in tmp/", os.listdir(tmp))

        c = Raw(trap.host, trap.port)
        t.ok(code(c.banner) == 220, "disk full: a new session still gets 220", c.banner)
        r = c.cmd(b"QUIT")
        c.close()

        # the operator can still review the full spool, and make room with
        # the CLI: readers must not need to write the index. The last
        # refusal may have left a few KB free: fill them first
        fill(os.path.join(mnt, "filler"))
        r = trap.cli("queue", "list", "--json")
        listed = {json.loads(x)["id"] for x in r.stdout.decode().splitlines() if x.strip()}
        # (the index cannot take the newest entries now: then it says so;
        # SQLite may not even open it without room for its -shm file:
        # then it says that, and cat and delete still work on the files)
        t.ok((r.returncode == 0 and ({m for d, m, p in stored} <= listed or
                                     b"could not be brought up to date" in r.stderr))
             or (r.returncode == 1 and b"index" in r.stderr),
             "disk full: queue list lists every stored message, or says the "
             "index is behind or cannot be opened", r.stderr.decode(errors="replace"))
        if stored:
            # stored lists new/ before cur/: which filler it is, the
            # message says (the worker may have moved the first already)
            r = trap.cli("queue", "cat", stored[0][1])
            m = re.match(rb"Subject: disk filler (\d+)\r\n", r.stdout)
            t.ok(r.returncode == 0 and m is not None
                 and r.stdout == big_body(int(m.group(1))),
                 "disk full: queue cat works",
                 (r.stderr.decode(errors="replace"), r.stdout[:60]))
        victims = [(m, p) for d, m, p in stored[:3]]
        for mid, p in victims:
            r = trap.cli("queue", "delete", mid)
            t.ok(r.returncode == 0, "disk full: queue delete %s works" % mid,
                 r.stderr.decode(errors="replace"))
        left = {m for d, m, p in walk_new(mnt)}
        t.ok(victims and not any(m in left for m, p in victims), "3 messages deleted",
             victims)
        try:
            c_, resp = smtp_send(trap.host, trap.port, big_body(999, 200 * 1024))
        except Exception as e:  # noqa: BLE001
            c_, resp = None, repr(e)
        t.ok(c_ == 250, "space back: a new message is accepted with 250", resp)
        try:
            by_qid = spool.by_queue_id()
        except RuntimeError as e:
            t.diag(str(e))
            by_qid = {}
        env = by_qid.get(queued_id(resp)) if c_ == 250 else None
        t.ok(env is not None and spool.cat(env["id"]) == big_body(999, 200 * 1024),
             "the new message is stored byte-identical (queue show/cat)")
        kept = {e.get("id") for e in by_qid.values()}
        t.ok(by_qid and {m for d, m, p in stored[3:]} <= kept,
             "space back: queue list shows every 250'd message not deleted",
             sorted(kept))
        rc = trap.stop()
        t.is_(rc, 0, "trap stops cleanly after the disk-full episode")

        # the trap stopped (SQLite removed the index's -wal and -shm
        # files) and the disk is full again: a reader cannot make the
        # -shm file, and still lists what the index holds
        fill(os.path.join(mnt, "filler2"))
        r = trap.cli("queue", "list", "--json")
        listed = {json.loads(x)["id"] for x in r.stdout.decode().splitlines() if x.strip()}
        t.ok(r.returncode == 0 and kept and kept <= listed,
             "stopped, disk full: queue list still lists every message",
             (r.returncode, r.stderr.decode(errors="replace"), sorted(kept - listed)))
        t.ok(b"read-only" in r.stderr, "... and says the index was read as it is",
             r.stderr.decode(errors="replace"))
        os.unlink(os.path.join(mnt, "filler2"))
        if t.failed:
            t.diag("relaytrapd log:\n" + trap.read_log()[-3000:])
    finally:
        if trap is not None:
            trap.stop()
        subprocess.run(["umount", mnt], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if os.path.ismount(mnt):
            subprocess.run(["umount", "-l", mnt])
        shutil.rmtree(top, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
