#!/usr/bin/env python3
"""Spool unwritable (not full): the roles run as an unprivileged user, so
taking write permission from the spool's directories makes the move into
new/ fail. A message the journal could still take is acknowledged (it is
durable there: docs/SPOOL.md) and reaches new/ by itself once the
permissions are back; one it could not take gets 451. Either way the log
says what failed and what to check, nothing is lost or half-written, and
the trap goes on storing without a restart. Root only (the trap must drop
to another user for permissions to bind it)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for  # noqa: E402
from storelib import Raw, Spool, code, queued_id, smtp_send, walk_new  # noqa: E402

DIRS = ("tmp", "journal", "new")


def main():
    t = Tap()
    if os.geteuid() != 0:
        t.skip_all("needs root: the trap must run its roles as another user")
    with Trap(t) as trap:
        spool = Spool(trap)
        c, resp = smtp_send(trap.host, trap.port, b"Subject: before\r\n\r\nok\r\n")
        t.ok(c == 250, "a message before: 250", resp)
        stored_before = {m for d, m, p in walk_new(trap.spool)}

        modes = {d: os.stat(os.path.join(trap.spool, d)).st_mode & 0o7777 for d in DIRS}
        for d in DIRS:
            os.chmod(os.path.join(trap.spool, d), 0o555)
        try:
            held = b"Subject: held\r\n\r\nwhile unwritable\r\n"
            c, resp = smtp_send(trap.host, trap.port, held)
            t.ok(c in (250, 451), "spool unwritable: 250 (journaled) or 451, "
                 "nothing else", (c, resp))
            try:
                wait_for(lambda: "permissions" in trap.read_log(), 10,
                         what="the warning")
                t.ok(True, "the log says what failed and to check permissions")
            except TimeoutError:
                t.ok(False, "the log says what failed and to check permissions",
                     trap.read_log()[-1500:])
            t.is_({m for d, m, p in walk_new(trap.spool)}, stored_before,
                  "nothing half-written in new/ while it is unwritable")
            r = Raw(trap.host, trap.port)
            t.ok(code(r.banner) == 220, "a new session still gets 220", r.banner)
            r.cmd(b"QUIT")
            r.close()
        finally:
            for d in DIRS:
                os.chmod(os.path.join(trap.spool, d), modes[d])
        if c == 250:
            try:
                env = wait_for(lambda: spool.by_queue_id().get(queued_id(resp)), 15,
                               what="the journaled message in the spool")
                t.ok(spool.cat(env["id"]) == held,
                     "permissions back: the acknowledged message reaches the "
                     "spool by itself, byte-identical")
            except (TimeoutError, RuntimeError) as e:
                t.ok(False, "permissions back: the acknowledged message reaches "
                     "the spool by itself", str(e))
        else:
            t.is_({m for d, m, p in walk_new(trap.spool)}, stored_before,
                  "the refused message is not in the spool")

        body = b"Subject: after\r\n\r\nstored again\r\n"
        c, resp = smtp_send(trap.host, trap.port, body)
        t.ok(c == 250, "permissions back: 250 again, no restart", (c, resp))
        try:
            env = wait_for(lambda: spool.by_queue_id().get(queued_id(resp)), 10,
                           what="the message listed")
            t.ok(spool.cat(env["id"]) == body, "and stored byte-identical")
        except (TimeoutError, RuntimeError) as e:
            t.ok(False, "and stored byte-identical", str(e))
    t.done()


if __name__ == "__main__":
    main()
