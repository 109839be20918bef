#!/usr/bin/env python3
"""test_cli_forward -- the operator commands of the forwarder (issue 3):
`relaytrap dropbox list|add|del`, `relaytrap verdict ID test|spam`,
`relaytrap queue release ID` and `relaytrap forward list`, with the real
binaries on a spool that relaytrapd made (started once on port 0, one
message sent with smtplib, stopped). Exit codes: 0 ok, 1 error, 2 usage."""
import json
import os
import smtplib
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import RELAYTRAP, RELAYTRAPD, Tap, Trap  # noqa: E402

RCPTS = ["box1@example.com", "Box2@example.net"]
BAD_ID = "0005F1C2A3B4C5D6"          # uppercase: not a queue id
MISSING_ID = "0000000000000abc"      # well-formed, not in the spool


def lines_json(r):
    return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]


def dropboxes(trap):
    r = trap.cli("dropbox", "list", "--json")
    return {d["addr"].lower(): d["source"] for d in lines_json(r)}


def relaytest(trap, mid):
    r = trap.cli("queue", "show", mid, "--json")
    return json.loads(r.stdout.decode() or "{}").get("relaytest") or {}


def forwarding_built():
    """RT_FORWARDING, from config.h of the build tree"""
    top = os.environ.get("RT_TOP_BUILDDIR", os.path.dirname(RELAYTRAP))
    try:
        with open(os.path.join(top, "config.h")) as f:
            return "#define RT_FORWARDING 1" in f.read()
    except OSError:
        return None


def main():
    t = Tap()
    if not (os.access(RELAYTRAP, os.X_OK) and os.access(RELAYTRAPD, os.X_OK)):
        t.skip_all("relaytrap/relaytrapd not built")
    # forward_mode off: the daemon must not act on anything here
    trap = Trap(t, options={"forward_mode": "off"})
    trap.start()
    try:
        with smtplib.SMTP(trap.host, trap.port, timeout=20) as s:
            s.ehlo("probe.example")
            s.sendmail("tester@example.org", RCPTS,
                       b"From: tester@example.org\r\nSubject: cli-forward\r\n"
                       b"\r\nhello\r\n")
        msgs = trap.wait_messages(1)
    finally:
        trap.stop()
    mid = msgs[0]["id"]
    state_db = os.path.join(trap.spool, "state.sqlite")

    # --- dropbox add / list / del ---------------------------------------
    r = trap.cli("dropbox", "add", "op@example.org")
    t.is_(r.returncode, 0, "dropbox add: exit 0")
    r = trap.cli("dropbox", "add", "op@example.org")
    t.is_(r.returncode, 0, "dropbox add again: exit 0 (idempotent)")
    r = trap.cli("dropbox", "list")
    t.ok(r.returncode == 0 and b"op@example.org" in r.stdout and
         b"operator" in r.stdout, "dropbox list shows it, operator-marked",
         r.stdout.decode(errors="replace"))
    got = lines_json(trap.cli("dropbox", "list", "--json"))
    t.ok(len(got) == 1 and got[0]["addr"] == "op@example.org" and
         got[0]["source"] == "operator" and isinstance(got[0]["added"], int) and
         got[0]["hits"] == 0, "dropbox list --json: one record", repr(got))
    r = trap.cli("dropbox", "list", "extra")
    t.is_(r.returncode, 2, "dropbox list with an operand: exit 2")
    r = trap.cli("dropbox", "del", "op@example.org")
    t.is_(r.returncode, 0, "dropbox del: exit 0")
    t.is_(dropboxes(trap), {}, "dropbox list is empty again")
    r = trap.cli("dropbox", "del", "op@example.org")
    t.is_(r.returncode, 1, "dropbox del of an unknown address: exit 1")
    for bad in ([], ["a b@example.org"], ["x\x01@example.org"], ["x" * 600]):
        r = trap.cli("dropbox", "add", *bad)
        t.is_(r.returncode, 2, "dropbox add %r: exit 2" % (bad[0][:20] if bad else None))
    r = trap.cli("dropbox", "frob")
    t.is_(r.returncode, 2, "dropbox frob: exit 2")
    r = trap.cli("dropbox")
    t.is_(r.returncode, 2, "dropbox without subcommand: exit 2")

    # --- verdict --------------------------------------------------------
    before = relaytest(trap, mid)
    t.ok(before.get("verdict") in ("spam", "relay_test", "tester", None),
         "message has a classifier verdict (or none yet)", repr(before))
    # a learned drop-box (as the worker writes after a delivery)
    with sqlite3.connect(state_db) as db:
        db.execute("INSERT INTO dropbox (addr, source, added) VALUES (?, 1, 0)",
                   (RCPTS[0],))
    db.close()
    t.is_(dropboxes(trap).get(RCPTS[0].lower()), "learned", "learned drop-box set up")

    r = trap.cli("verdict", mid, "spam")
    t.is_(r.returncode, 0, "verdict spam: exit 0")
    rt = relaytest(trap, mid)
    t.is_(rt.get("verdict"), "spam", "relaytest.json says spam")
    t.is_(rt.get("previous"), before.get("verdict"), "old verdict kept under previous")
    t.ok({"name": "operator", "weight": 0, "detail": "set by relaytrap verdict"}
         in rt.get("reasons", []), "operator reason added", repr(rt.get("reasons")))
    t.ok(RCPTS[0].lower() not in dropboxes(trap), "spam removed the learned drop-box")

    r = trap.cli("verdict", mid, "test")
    t.is_(r.returncode, 0, "verdict test: exit 0")
    rt = relaytest(trap, mid)
    t.is_(rt.get("verdict"), "relay_test", "relaytest.json says relay_test")
    t.is_(rt.get("previous"), "spam", "previous is the operator's spam")
    t.is_(sum(1 for x in rt.get("reasons", []) if x.get("name") == "operator"), 1,
          "exactly one operator reason")
    db_now = dropboxes(trap)
    t.ok(all(db_now.get(a.lower()) == "operator" for a in RCPTS),
         "test taught every recipient as an operator drop-box", repr(db_now))

    r = trap.cli("verdict", mid, "spam")
    t.is_(r.returncode, 0, "verdict spam again: exit 0")
    t.is_(relaytest(trap, mid).get("verdict"), "spam", "verdict back to spam")
    db_now = dropboxes(trap)
    t.ok(all(db_now.get(a.lower()) == "operator" for a in RCPTS),
         "spam keeps operator-marked drop-boxes", repr(db_now))

    for args, why in ((["verdict", BAD_ID, "test"], "uppercase id"),
                      (["verdict", "../../etc", "spam"], "path as id"),
                      (["verdict", mid], "missing test|spam"),
                      (["verdict", mid, "ham"], "bad verdict word"),
                      (["verdict"], "no id"),
                      (["verdict", mid, "test", "x"], "extra operand")):
        r = trap.cli(*args)
        t.is_(r.returncode, 2, "verdict with %s: exit 2" % why)
    r = trap.cli("verdict", MISSING_ID, "test")
    t.is_(r.returncode, 1, "verdict of a missing message: exit 1")

    # --- queue release / forward list -----------------------------------
    r = trap.cli("forward", "list")
    t.ok(r.returncode == 0 and r.stdout == b"", "forward list: empty before a release")
    fwd = forwarding_built()
    r = trap.cli("queue", "release", mid)
    if fwd is False:
        t.is_(r.returncode, 1, "release without forwarding in the build: exit 1")
        t.ok(b"forwarding" in r.stderr, "and says so")
    else:
        t.is_(r.returncode, 0, "queue release: exit 0")
        t.is_(r.stdout.decode().count(" queued"), len(RCPTS),
              "release says one queued line per recipient")
        items = lines_json(trap.cli("forward", "list", "--json"))
        t.is_(sorted(i["rcpt"] for i in items), sorted(RCPTS),
              "forward list: one item per recipient")
        t.ok(all(i["id"] == mid and i["state"] == "pending" and i["attempts"] == 0
                 and i["sender"] == "tester@example.org"
                 and i["client"] == "127.0.0.1" and i["next_attempt"] > 0
                 for i in items), "items are pending, with sender and client",
             repr(items))
        fdb, sp = os.stat(os.path.join(trap.spool, "forward.sqlite")), os.stat(trap.spool)
        t.ok((fdb.st_uid, fdb.st_gid) == (sp.st_uid, sp.st_gid),
             "forward.sqlite belongs to the spool's owner (the daemon can write it)")
        r = trap.cli("forward", "list")
        t.ok(r.returncode == 0 and len(r.stdout.decode().splitlines()) == len(RCPTS)
             and all(a.encode() in r.stdout for a in RCPTS),
             "forward list: one human line per item")
        r = trap.cli("queue", "release", mid)
        t.ok(r.returncode == 0 and r.stdout.decode().count("already") == len(RCPTS),
             "second release: already queued, nothing added")
        t.is_(len(lines_json(trap.cli("forward", "list", "--json"))), len(RCPTS),
              "still one item per recipient")
    for args, why in ((["queue", "release", BAD_ID], "uppercase id"),
                      (["queue", "release"], "no id"),
                      (["queue", "release", mid, mid], "two ids")):
        r = trap.cli(*args)
        t.is_(r.returncode, 2, "release with %s: exit 2" % why)
    r = trap.cli("queue", "release", MISSING_ID)
    t.is_(r.returncode, 1, "release of a missing message: exit 1")
    for args in (["forward"], ["forward", "flush"], ["forward", "list", "--bogus"],
                 ["frobnicate"]):
        r = trap.cli(*args)
        t.is_(r.returncode, 2, "%s: exit 2" % " ".join(args))
    r = subprocess.run([RELAYTRAP, "-c", "/dev/null", "-s", trap.spool, "dropbox", "list",
                        "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.ok(r.returncode == 0 and b"dropbox add|del ADDR" in r.stdout, "--help shows the usage")
    trap.cleanup()
    t.done()


main()
