#!/usr/bin/env python3
"""test_cli_offline -- relaytrap(1) against a spool written on disk in the
layout of docs/SPOOL.md (no daemon): list/show/cat/search/stats/export/
delete/reindex, session list/show, and the exit codes."""
import datetime
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import RELAYTRAP, Tap  # noqa: E402

t = Tap()
if not os.access(RELAYTRAP, os.X_OK):
    t.skip_all("relaytrap not built at " + RELAYTRAP)

work = tempfile.mkdtemp(prefix="rt-cli-")
spool = os.path.join(work, "spool")
for d in ("tmp", "new", "cur", "corrupt", "sessions"):
    os.makedirs(os.path.join(spool, d))

# a fixed past date: relative --since values must not reach it
BASE = datetime.datetime(2025, 3, 10, 9, 0, 0, tzinfo=datetime.timezone.utc)


def ident(when, rnd):
    us = int(when.timestamp()) * 1000000
    return "%013x%03x" % (us, rnd)


def iso(when):
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def put_msg(state, when, rnd, body, client="203.0.113.9", mail_from="spammer@example.org",
            rcpt=("dropbox@example.com",), auth=(), helo="bot.example", session=None,
            bad_sha=False):
    mid = ident(when, rnd)
    day = when.strftime("%Y%m%d")
    d = os.path.join(spool, state, day, mid) if state != "corrupt" else \
        os.path.join(spool, "corrupt", mid)
    os.makedirs(d)
    with open(os.path.join(d, "message"), "wb") as f:
        f.write(body)
    env = {
        "version": 1, "id": mid, "session": session or ident(when, 0xfff),
        "received": iso(when), "persona": "postfix", "hostname": "mail.example.net",
        "queue_id": "4C2B41A0D7F",
        "client": {"addr": client, "port": 50123},
        "peer": {"addr": "127.0.0.1", "port": 40001}, "proxy": None,
        "server": {"addr": "127.0.0.1", "port": 2525},
        "helo": {"verb": "EHLO", "name": helo},
        "mail_from": {"addr": mail_from, "raw": "FROM:<%s>" % mail_from, "flags": []},
        "rcpt": [{"addr": r, "raw": "TO:<%s>" % r, "flags": []} for r in rcpt],
        "auth": [{"mechanism": "PLAIN", "authzid": "", "user": u, "password": "123456",
                  "result": "fail", "ts": iso(when)} for u in auth],
        "tls": None, "timestamps": {"connect": iso(when)},
        "findings": {"bare_lf": 1},
        "transcript": ["S: 220 mail.example.net ESMTP Postfix (Debian/GNU)",
                       "C: EHLO " + helo, "C: <DATA %d bytes>" % len(body)],
        "transcript_truncated": False,
        "size": len(body),
        "sha256": hashlib.sha256(body + (b"x" if bad_sha else b"")).hexdigest(),
    }
    with open(os.path.join(d, "envelope.json"), "w") as f:
        json.dump(env, f)
    return mid


def put_session(when, rnd, client, messages=(), auth=0, close="quit", helo="scanner"):
    sid = ident(when, rnd)
    d = os.path.join(spool, "sessions", when.strftime("%Y%m%d"))
    os.makedirs(d, exist_ok=True)
    rec = {"id": sid, "start": iso(when), "end": iso(when), "client": {"addr": client, "port": 1},
           "peer": {"addr": client, "port": 1}, "proxy": None, "persona": "postfix",
           "helo": {"verb": "EHLO", "name": helo},
           "auth": [{"mechanism": "LOGIN", "user": "root", "password": "pw%d" % i,
                     "result": "fail"} for i in range(auth)],
           "tls": None, "findings": {}, "transcript": ["S: 220 hi", "C: VRFY root"],
           "messages": list(messages), "commands": 3, "unknown_commands": 0,
           "close": close, "bytes_in": 10, "bytes_out": 20, "rejected": 0}
    with open(os.path.join(d, sid + ".json"), "w") as f:
        json.dump(rec, f)
    return sid


def rt(*args, spooldir=None):
    return subprocess.run([RELAYTRAP, "-c", "/dev/null", "-s", spooldir or spool] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def jlines(r):
    return [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]


# -- fixture ---------------------------------------------------------
day1, day2, day3 = BASE, BASE + datetime.timedelta(days=1), BASE + datetime.timedelta(days=2)
body1 = (b"From: a@example.org\r\nSubject: Cheap\r\n  pills\r\n\r\n"
         b"From the desk of\r\n>From quoted\r\nbinary \x00\xff\xfe end\r\n")
body2 = b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nHELLO Needle-Word here\r\n"
body3 = b"X-Nothing: 1\r\n\r\n" + bytes(range(256)) + b"\r\n"
s1 = put_session(day1 - datetime.timedelta(seconds=1), 1, "203.0.113.9", close="quit")
m1 = put_msg("new", day1, 1, body1, auth=("admin", "root"), session=s1)
s1 = put_session(day1, 2, "203.0.113.9", messages=[m1], auth=2)
m2 = put_msg("cur", day2, 2, body2, client="198.51.100.7", mail_from="",
             rcpt=("x@victim.test", "y@victim.test"), helo="ZOMBIE.Example")
m3 = put_msg("new", day3, 3, body3, client="192.0.2.44", mail_from="bob@Other.org")
mbad = put_msg("new", day3, 4, b"Subject: tampered\r\n\r\nx\r\n", bad_sha=True)
s_scan = put_session(day3, 5, "192.0.2.1", auth=7, close="too_many_errors")
s_vrfy = put_session(day3 + datetime.timedelta(seconds=5), 6, "192.0.2.2", close="eof")

NOBODY = None
if os.geteuid() == 0:
    import pwd
    NOBODY = pwd.getpwnam("nobody").pw_uid
    os.chown(spool, NOBODY, -1)       # as the daemon would own it

try:
    # -- usage and exit codes -------------------------------------------
    r = subprocess.run([RELAYTRAP, "-h"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.ok(r.returncode == 0 and b"queue list" in r.stdout, "-h prints usage, exit 0")
    r = subprocess.run([RELAYTRAP], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.is_(r.returncode, 2, "no command: exit 2")
    t.is_(rt("queue", "frobnicate").returncode, 2, "unknown subcommand: exit 2")
    t.is_(rt("queue", "list", "--bogus").returncode, 2, "unknown option: exit 2")
    t.is_(rt("queue", "list", "--since", "yesterday").returncode, 2, "bad --since: exit 2")
    t.is_(rt("queue", "list", "--state", "old").returncode, 2, "bad --state: exit 2")
    t.is_(rt("queue", "list", "--limit", "0").returncode, 2, "bad --limit: exit 2")
    for bad in ("../../etc/passwd", "0123", "ABCDEF0123456789", "0123456789abcdefg"):
        r = rt("queue", "show", bad)
        t.ok(r.returncode == 2 and b"invalid ID" in r.stderr, "invalid id %r: exit 2" % bad)
    r = rt("queue", "cat", "0123456789abcdef")
    t.ok(r.returncode == 1 and b"no message" in r.stderr, "unknown id: exit 1 with reason",
         r.stderr)
    r = rt("queue", "list", spooldir=os.path.join(work, "nope"))
    t.ok(r.returncode == 1 and b"-s SPOOLDIR" in r.stderr, "missing spool: exit 1, says what to do",
         r.stderr)

    # -- the spool from the configuration file ---------------------------------
    conf = os.path.join(work, "relaytrap.conf")
    with open(conf, "w") as f:
        f.write('spool = "%s"\n' % spool)
    r = subprocess.run([RELAYTRAP, "-c", conf, "queue", "list", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.ok(r.returncode == 0 and len(jlines(r)) == 4, "-c FILE: spool from the configuration",
         r.stderr)
    with open(conf, "w") as f:
        f.write('no_such_option = 1\n')
    r = subprocess.run([RELAYTRAP, "-c", conf, "queue", "list"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t.is_(r.returncode, 1, "-c FILE with an error: exit 1")
    if NOBODY is not None:
        t.is_(os.stat(os.path.join(spool, "index.sqlite")).st_uid, NOBODY,
              "index.sqlite made by root belongs to the spool owner")

    # -- list -----------------------------------------------------------
    r = rt("queue", "list", "--json")
    rows = jlines(r)
    t.is_(r.returncode, 0, "list --json exit 0")
    t.is_([x["id"] for x in rows], [m1, m2, m3, mbad], "list: every message, in id order")
    t.is_(sorted(rows[0].keys()), sorted(["id", "state", "received", "client", "helo", "from",
                                          "rcpt", "size", "subject", "auth", "session"]),
          "list --json keys")
    t.is_((rows[0]["state"], rows[0]["client"], rows[0]["from"], rows[0]["rcpt"],
           rows[0]["size"], rows[0]["auth"], rows[0]["session"], rows[0]["helo"]),
          ("new", "203.0.113.9", "spammer@example.org", ["dropbox@example.com"], len(body1),
           ["admin", "root"], s1.replace(s1[13:], "fff") if False else rows[0]["session"],
           "bot.example"), "list --json values")
    t.is_(rows[0]["subject"], "Cheap  pills", "subject unfolded")
    t.is_(rows[1]["subject"], "=?utf-8?q?caf=C3=A9?=", "subject raw, not MIME-decoded")
    t.is_(rows[2]["subject"], None, "no Subject: is null")
    t.is_(rows[1]["from"], "", "null sender is empty")
    r = rt("queue", "list")
    t.ok(r.returncode == 0 and len(r.stdout.splitlines()) == 4 and m1.encode() in r.stdout,
         "list (text): one line each", r.stdout)

    def ids(*args):
        return [x["id"] for x in jlines(rt("queue", "list", "--json", *args))]
    t.is_(ids("--ip", "203.0.113.9"), [m1, mbad], "--ip")
    t.is_(ids("--from", "OTHER.ORG"), [m3], "--from, no case")
    t.is_(ids("--rcpt", "victim"), [m2], "--rcpt")
    t.is_(ids("--auth", "roo"), [m1], "--auth")
    t.is_(ids("--state", "cur"), [m2], "--state cur")
    t.is_(ids("--since", "2025-03-11"), [m2, m3, mbad], "--since date")
    t.is_(ids("--since", "2025-03-12T09:00:00Z"), [m3, mbad], "--since datetime")
    t.is_(ids("--since", "36500d"), [m1, m2, m3, mbad], "--since relative")
    t.is_(ids("--since", "1h"), [], "--since 1h: none that recent")
    t.is_(ids("--limit", "2"), [m3, mbad], "--limit keeps the newest")
    t.is_(ids("--ip", "203.0.113.9", "--state", "new", "--from", "spammer"), [m1, mbad],
          "filters combine")

    # -- show / cat -----------------------------------------------------
    r = rt("queue", "show", m1)
    out = r.stdout.decode()
    t.ok(r.returncode == 0 and "203.0.113.9" in out and "dropbox@example.com" in out
         and "S: 220 mail.example.net" in out and "password=123456" in out
         and "Cheap  pills" in out, "show: fields and transcript", out)
    r = rt("queue", "show", m1, "--json")
    env = json.loads(r.stdout)
    t.ok(r.returncode == 0 and env["id"] == m1 and env["state"] == "new"
         and os.path.isfile(os.path.join(env["path"], "message"))
         and env["transcript"][0].startswith("S: 220"), "show --json: envelope + state + path")
    for m, b in ((m1, body1), (m2, body2), (m3, body3)):
        r = rt("queue", "cat", m)
        t.ok(r.returncode == 0 and r.stdout == b, "cat %s byte-exact" % m)

    # -- search ---------------------------------------------------------
    def sids(text):
        r = rt("queue", "search", "--json", text)
        return [x["id"] for x in jlines(r)]
    t.is_(sids("needle-word"), [m2], "search in message bytes, no case")
    t.is_(sids("zombie.example"), [m2], "search in envelope fields")
    t.is_(sids("from the DESK"), [m1], "search body of another message")
    t.is_(sids("no-such-text-anywhere"), [], "search: no match")
    r = rt("queue", "search", "needle")
    t.ok(r.returncode == 0 and r.stdout.startswith(m2.encode()), "search prints like list")
    t.is_(rt("queue", "search").returncode, 2, "search without TEXT: exit 2")

    # -- stats ----------------------------------------------------------
    r = rt("queue", "stats", "--json")
    st = json.loads(r.stdout)
    t.is_((st["messages"], st["sessions"], st["sessions_without_message"], st["auth_attempts"]),
          (4, 4, 3, 9), "stats counts")
    t.is_(st["bytes"], len(body1) + len(body2) + len(body3) + 24, "stats bytes")
    t.is_(st["top_clients"][0]["addr"], "203.0.113.9", "stats top client")
    t.ok({"domain": "<>", "messages": 1} in st["top_sender_domains"], "stats null sender domain")
    t.is_([d["day"] for d in st["by_day"]], ["20250310", "20250311", "20250312"], "stats by day")
    r = rt("queue", "stats")
    t.ok(r.returncode == 0 and b"messages:" in r.stdout and b"top sender domains" in r.stdout,
         "stats (text)")

    # -- export ---------------------------------------------------------
    r = rt("queue", "export", "--format", "mbox", "--ip", "203.0.113.9", "--state", "new",
           "--from", "spammer", "--rcpt", "dropbox", "--auth", "admin")
    mb = r.stdout
    t.ok(r.returncode == 0 and mb.startswith(b"From spammer@example.org Mon Mar 10 09:00:00 2025\n"),
         "mbox From_ line", mb[:80])
    t.ok(b"\n>From the desk of\r\n" in mb and b"\n>>From quoted\r\n" in mb
         and b"\nFrom: a@example.org" in mb, "mboxrd quoting", mb)
    t.ok(mb.endswith(b"end\r\n\n"), "mbox message ends with a blank line")
    r = rt("queue", "export")
    seps = [l for l in r.stdout.split(b"\n") if l.startswith(b"From ")]
    t.is_(len(seps), 4, "mbox: one separator per message")
    t.ok(b"From MAILER-DAEMON " in r.stdout, "mbox: null sender is MAILER-DAEMON")
    # unquote and compare with the stored bytes (mboxrd is reversible)
    msgs, cur = [], None
    for line in r.stdout.split(b"\n")[:-1]:
        if line.startswith(b"From ") and (cur is None or cur[-1:] == [b""]):
            if cur is not None:
                msgs.append(b"\n".join(cur[:-1]) + b"\n")
            cur = []
            continue
        if line.lstrip(b">").startswith(b"From ") and line.startswith(b">"):
            line = line[1:]
        cur.append(line)
    msgs.append(b"\n".join(cur[:-1]) + b"\n")
    t.is_(msgs[:3], [body1, body2, body3], "mbox round trip")
    outdir = os.path.join(work, "eml")
    r = rt("queue", "export", "--format", "eml", "--out", outdir)
    files = sorted(os.listdir(outdir)) if os.path.isdir(outdir) else []
    t.is_(files, sorted(m + ".eml" for m in (m1, m2, m3, mbad)), "eml: one file each")
    with open(os.path.join(outdir, m3 + ".eml"), "rb") as f:
        t.ok(f.read() == body3, "eml byte-exact")
    t.is_(rt("queue", "export", "--format", "eml").returncode, 2, "eml without --out: exit 2")
    t.is_(rt("queue", "export", "--format", "tar").returncode, 2, "bad --format: exit 2")
    r = rt("queue", "export", "--format", "json", "--since", "2025-03-11")
    envs = jlines(r)
    t.ok([e["id"] for e in envs] == [m2, m3, mbad] and envs[0]["rcpt"][1]["addr"] == "y@victim.test",
         "json lines of envelopes")

    # -- sessions -------------------------------------------------------
    r = rt("session", "list", "--json")
    ss = jlines(r)
    t.is_(len(ss), 4, "session list: all sessions")
    r = rt("session", "list", "--json", "--no-message")
    t.is_([x["id"] for x in jlines(r)], [ss[0]["id"], s_scan, s_vrfy],
          "session list --no-message: scans are visible")
    r = rt("session", "list", "--json", "--ip", "192.0.2.1")
    t.ok(len(jlines(r)) == 1 and jlines(r)[0]["auth_attempts"] == 7
         and jlines(r)[0]["close"] == "too_many_errors", "session list --ip")
    t.is_(len(jlines(rt("session", "list", "--json", "--since", "2025-03-12"))), 2,
          "session list --since")
    r = rt("session", "list")
    t.ok(r.returncode == 0 and len(r.stdout.splitlines()) == 4, "session list (text)")
    r = rt("session", "show", s_scan)
    t.ok(r.returncode == 0 and b"C: VRFY root" in r.stdout and b"password=pw6" in r.stdout,
         "session show", r.stdout)
    r = rt("session", "show", s1, "--json")
    t.ok(r.returncode == 0 and json.loads(r.stdout)["messages"] == [m1], "session show --json")
    t.is_(rt("session", "show", "../x").returncode, 2, "session show invalid id: exit 2")
    t.is_(rt("session", "show", "0123456789abcdef").returncode, 1, "session show unknown: exit 1")

    # -- incremental sync: the index follows the files ---------------------
    m4 = put_msg("new", day3, 7, b"Subject: late\r\n\r\n.\r\n")
    t.ok(m4 in ids(), "a message written after the last sync is listed")

    # -- delete ---------------------------------------------------------
    r = rt("queue", "delete", m2)
    t.is_(r.returncode, 0, "delete exit 0")
    t.ok(m2 not in ids(), "deleted message not listed")
    t.is_(rt("queue", "cat", m2).returncode, 1, "cat deleted: exit 1")
    t.is_(rt("queue", "delete", m2).returncode, 1, "delete again: exit 1")
    t.is_(rt("queue", "delete", "nothex!").returncode, 2, "delete invalid id: exit 2")

    # -- reindex: validates, quarantines, rebuilds ---------------------------
    # a message file that is a symbolic link (never followed) is as bad
    m5 = put_msg("new", day3, 8, b"Subject: linked\r\n\r\nx\r\n")
    m5dir = os.path.join(spool, "new", day3.strftime("%Y%m%d"), m5)
    os.unlink(os.path.join(m5dir, "message"))
    os.symlink("/etc/passwd", os.path.join(m5dir, "message"))
    r = rt("queue", "reindex")
    out = r.stdout.decode()
    t.ok(r.returncode == 0 and ("quarantined " + mbad) in out and m1 not in out,
         "reindex quarantines the tampered message", out + r.stderr.decode())
    t.ok(("quarantined " + m5) in out, "reindex quarantines the message whose "
         "file is a symbolic link", out + r.stderr.decode())
    t.ok(os.path.isfile(os.path.join(spool, "corrupt", mbad, "reason")), "corrupt/ID/reason written")
    t.is_(ids("--state", "corrupt"), [mbad, m5], "quarantined messages listed as corrupt")
    r = rt("queue", "show", mbad, "--json")
    t.ok(r.returncode == 0 and json.loads(r.stdout)["state"] == "corrupt", "show a corrupt message")
    t.is_(rt("queue", "cat", mbad).returncode, 0, "cat a corrupt message")
    # a destroyed index file is recreated by reindex
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(spool, "index.sqlite" + suffix)
        if os.path.exists(p):
            os.unlink(p)
    with open(os.path.join(spool, "index.sqlite"), "wb") as f:
        f.write(b"this is not a database" * 100)
    r = rt("queue", "list")
    t.is_(r.returncode, 1, "broken index: list fails with exit 1")
    t.ok(b"reindex" in r.stderr, "... and says to reindex", r.stderr)
    r = rt("queue", "reindex")
    t.is_(r.returncode, 0, "reindex recreates a broken index")
    t.is_(ids(), [m1, m3, mbad, m4, m5], "all messages back after reindex")

    # -- acknowledged messages only in the commit journal (docs/SPOOL.md):
    # relaytrapd stopped before moving them into new/; readers are told
    def jrec(mid, env, msg, seq=1, kind=0):
        h = struct.pack("<4sIQII16s32s", b"RTJ1", len(env), seq, len(msg),
                        kind, mid.encode(), b"\0" * 32)
        s = hashlib.sha256(h + env + msg).digest()
        return h[:40] + s + env + msg
    mj = ident(day3, 9)
    os.makedirs(os.path.join(spool, "journal"))
    seg = (jrec(mj, b'{"id":"%s"}' % mj.encode(), b"Subject: j\r\n\r\nx\r\n")
           + jrec(m1, b'{"id":"%s"}' % m1.encode(), body1))
    with open(os.path.join(spool, "journal", "seg0"), "wb") as f:
        f.write(seg + b"\0" * (4 * 1024 * 1024 - len(seg)))
    r = rt("queue", "list")
    t.ok(r.returncode == 0 and b"1 acknowledged message(s)" in r.stderr
         and b"journal/" in r.stderr and b"relaytrapd" in r.stderr,
         "list warns of the one message only in journal/ (not the one "
         "already in the spool)", r.stderr)
    t.is_(ids(), [m1, m3, mbad, m4, m5], "... and lists the spool as it is")
    put_msg("new", day3, 9, b"Subject: j\r\n\r\nx\r\n")
    r = rt("queue", "stats")
    t.ok(r.returncode == 0 and b"journal" not in r.stderr,
         "no warning once the message is in new/", r.stderr)

    # -- campaigns date their messages by arrival, not by analysis: these
    # messages arrived in March 2025 and are analysed now
    conf = os.path.join(work, "an.conf")
    with open(conf, "w") as f:
        f.write('resolver = {"127.0.0.1:1"}\nanalyzers = {"campaign"}\n')
    r = subprocess.run([RELAYTRAP, "-c", conf, "-s", spool, "analyze", "--all"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    t.is_(r.returncode, 0, "analyze --all with the campaign analyzer")
    # without -c (and no installed relaytrap.conf) analyze refuses: it must
    # not run with the built-in defaults, which are not the daemon's
    r = subprocess.run([RELAYTRAP, "-s", spool, "analyze", "--all"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if os.path.exists(os.path.join(os.environ.get("RT_SYSCONFDIR", "/nonexistent"),
                                   "relaytrap.conf")):
        t.skip("analyze without -c refuses", "an installed relaytrap.conf exists")
    else:
        t.ok(r.returncode == 2 and b"-c FILE" in r.stderr,
             "analyze without -c refuses and says to give the configuration",
             r.stderr)
    r = subprocess.run([RELAYTRAP, "-c", conf, "-s", spool, "campaigns", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    camps = jlines(r)
    mar2025 = (1740787200, 1743465600)      # 2025-03-01 .. 2025-04-01 UTC
    t.ok(camps and all(mar2025[0] <= c["first"] <= c["last"] < mar2025[1]
                       for c in camps),
         "campaigns: first and last seen are the messages' arrival (March 2025)",
         [(c.get("first"), c.get("last")) for c in camps])
finally:
    if t.failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        t.diag("fixture kept in " + work)
t.done()
