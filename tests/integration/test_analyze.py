#!/usr/bin/env python3
"""The analysis pipeline (issue 4): every committed message gets
analysis.json and moves from new/ to cur/, the index follows,
`relaytrap analyze` re-runs it with the same result, and a message whose
analysis crashed the worker is recorded and passed over (analysis.lock),
as is one that ran past analysis_timeout (the watchdog)."""
import glob
import json
import os
import signal
import smtplib
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, send_proxied, wait_for  # noqa: E402


def send(trap, subject):
    with smtplib.SMTP(trap.host, trap.port, timeout=20) as s:
        s.ehlo("probe.example")
        s.sendmail("a@example.org", ["b@example.net"],
                   ("From: a@example.org\r\nSubject: %s\r\n\r\nhello %s\r\n"
                    % (subject, subject)).encode())


def analysis_files(trap):
    return glob.glob(os.path.join(trap.spool, "cur", "*", "*", "analysis.json"))


def main():
    t = Tap()
    with Trap(t) as trap:
        send(trap, "one")
        files = wait_for(lambda: analysis_files(trap), 20,
                         what="analysis.json in cur/")
        an = json.load(open(files[0]))
        t.ok("runner" in an and "status" in an["runner"],
             "analysis.json has the runner's record", an)
        t.ok(an.get("relaytest", {}).get("verdict") in ("spam", "relay_test", "tester"),
             "the relay-test verdict is part of the analysis", an)
        t.is_(glob.glob(os.path.join(trap.spool, "new", "*", "*")), [],
              "nothing left in new/")
        t.is_(glob.glob(os.path.join(trap.spool, "cur", "*", "*", "analysis.lock")), [],
              "no analysis.lock left behind")
        msgs = wait_for(lambda: [m for m in trap.messages() if m.get("state") == "cur"],
                        20, what="index says cur")
        t.is_(len(msgs), 1, "the index follows the move to cur/")
        mid = msgs[0]["id"]
        r = trap.cli("queue", "list", "--verdict", an["relaytest"]["verdict"])
        t.ok(mid.encode() in r.stdout, "queue list --verdict finds it", r.stdout)
        r = trap.cli("stats", "--json")
        st = json.loads(r.stdout.decode())
        t.ok(any(v.get("verdict") == an["relaytest"]["verdict"]
                 for v in st.get("verdicts", [])), "stats counts verdicts", st)

        # the index shows the Subject the content analyzer decoded
        send(trap, "=?UTF-8?B?w6lsw6lwaGFudA==?=")
        dec = wait_for(lambda: [m for m in trap.messages()
                                if m.get("subject") == "\u00e9l\u00e9phant"],
                       20, what="the decoded subject in queue list")
        t.is_(len(dec), 1, "queue list shows the decoded Subject")
        r = trap.cli("queue", "show", dec[0]["id"])
        t.ok("\u00e9l\u00e9phant".encode() in r.stdout,
             "queue show too", r.stdout)

        # a message with no header (GMime reads none of it) is scanned raw
        seen = {m["id"] for m in trap.messages()}
        with smtplib.SMTP(trap.host, trap.port, timeout=20) as s:
            s.sendmail("a@example.org", ["b@example.net"],
                       b"hello http://bare.example/x from me@bare.example\r\n")
        bare = wait_for(lambda: [m for m in trap.messages() if m.get("state") == "cur"
                                 and m["id"] not in seen], 20,
                        what="the headerless message analysed")
        r = trap.cli("queue", "show", bare[0]["id"])
        t.ok(re.search(rb"^content: +scanned raw: not a MIME message", r.stdout, re.M)
             and b"http://bare.example/x" in r.stdout
             and b"me@bare.example" in r.stdout,
             "queue show: a headerless message's URL and address, scanned raw",
             r.stdout)

        before = json.load(open(files[0]))
        r = subprocess_run(trap, "analyze", mid)
        t.is_(r.returncode, 0, "relaytrap analyze ID exits 0")
        after = json.load(open(files[0]))
        del before["runner"], after["runner"]
        t.is_(after, before, "re-running gives the same result")
        r = subprocess_run(trap, "analyze", "not-an-id")
        t.is_(r.returncode, 2, "a bad id exits 2")

    # crash guard: a message left in new/ with analysis.lock (the worker
    # died while analyzing it) is analysed once more; after a second death
    # (two "attempt" lines) it is recorded as crashed and moved on
    with Trap(t) as trap:
        send(trap, "two")
        wait_for(lambda: analysis_files(trap), 20, what="first analysis")
        for lock, what in ((b"", "one death"), (b"attempt\nattempt\n", "two deaths")):
            trap.stop()
            cur = glob.glob(os.path.join(trap.spool, "cur", "*", "*"))[0]
            day = os.path.basename(os.path.dirname(cur))
            new = os.path.join(trap.spool, "new", day, os.path.basename(cur))
            os.makedirs(os.path.dirname(new), exist_ok=True)
            os.rename(cur, new)
            os.remove(os.path.join(new, "analysis.json"))
            with open(os.path.join(new, "analysis.lock"), "wb") as f:
                f.write(lock)
            trap.start()
            path = os.path.join(trap.spool, "cur", day, os.path.basename(cur),
                                "analysis.json")
            wait_for(lambda: os.path.exists(path), 20, what="crashed message moved on")
            an = json.load(open(path))
            st = an.get("runner", {}).get("status")
            if lock == b"":
                t.ok(isinstance(st, dict) and st.get("content") == "ok"
                     and "relaytest" in an,
                     "after %s the message is analysed once more, fully" % what, st)
            else:
                t.is_(st, "crashed", "after %s the crashed analysis is recorded" % what)
            t.ok(not os.path.exists(os.path.join(os.path.dirname(path), "analysis.lock")),
                 "and its lock removed (%s)" % what)
        out = subprocess_run(trap, "queue", "show", os.path.basename(cur)).stdout
        t.ok(re.search(rb"^analysis: +crashed \(no results", out, re.M),
             "queue show says the analysis crashed", out)

    # the configuration enables and orders the analyzers; one that runs
    # past analyzer_budget is recorded as over_budget and the rest run
    opts = {"analyzers": '{"content", "origin"}', "analyzer_budget": "1"}
    with Trap(t, options=opts) as trap:
        big = "".join("line %d of a long text part, padded to be slow\r\n"
                      % i for i in range(60000))     # about 3 MB
        with smtplib.SMTP(trap.host, trap.port, timeout=60) as s:
            s.sendmail("a@example.org", ["b@example.net"],
                       ("Subject: big\r\n\r\n" + big).encode())
        files = wait_for(lambda: analysis_files(trap), 30,
                         what="the big message analysed")
        an = json.load(open(files[0]))
        t.is_([k for k in an if k != "runner"], ["content", "origin"],
              "only the configured analyzers ran, in the configured order")
        st = an.get("runner", {}).get("status", {})
        t.ok(st.get("content") == "over_budget" and st.get("origin") == "ok",
             "past a 1 ms budget: over_budget recorded, the next one ran", st)
        mid = os.path.basename(os.path.dirname(files[0]))
        out = subprocess_run(trap, "queue", "show", mid).stdout
        t.ok(re.search(rb"^analysis: +content over_budget$", out, re.M),
             "queue show names the analyzer past its budget (and not the ones "
             "that succeeded)", out)

    # watchdog: a DNS server that never answers holds the analysis past
    # analysis_timeout; the worker is stopped and restarted, and analyses
    # the message once more without the analyzer that held it
    hole2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole2.bind(("127.0.0.1", 0))
    opts = {"resolver": '{"127.0.0.1:%d"}' % hole2.getsockname()[1],
            "analysis_timeout": "1",
            "analyzers": '{"origin", "content", "relaytest"}'}
    with Trap(t, listeners=("proxy:127.0.0.1:0",), options=opts) as trap:
        t.is_(send_proxied(trap.host, trap.port, "2.125.160.216", "partial",
                           "hello"), b"250", "stored")
        files = wait_for(lambda: analysis_files(trap), 30,
                         what="the message analysed without origin")
        an = json.load(open(files[0]))
        st = an.get("runner", {}).get("status")
        t.ok(isinstance(st, dict) and st.get("origin") == "timeout"
             and st.get("content") == "ok" and "content" in an
             and an.get("relaytest", {}).get("verdict"),
             "the analyzer past analysis_timeout is recorded as timeout, "
             "the others' results and the relay-test verdict are kept", an)
        out = subprocess_run(trap, "queue", "show",
                             os.path.basename(os.path.dirname(files[0]))).stdout
        t.ok(re.search(rb"^analysis: +origin timeout$", out, re.M),
             "queue show names it", out)
        # after the DNS outage, relaytrap analyze --retry re-runs exactly
        # the incomplete analyses (a private client's needs no DNS)
        t.is_(send_proxied(trap.host, trap.port, "10.1.2.3", "complete", "hello"),
              b"250", "stored")
        wait_for(lambda: len(analysis_files(trap)) == 2, 20, what="second analysis")
        hole2.close()       # DNS now fails at once instead of never
        r = subprocess_run(trap, "analyze", "--retry")
        t.ok(r.returncode == 0 and b"1 analyzed, 0 failed" in r.stdout,
             "analyze --retry takes the incomplete analysis only", r.stdout + r.stderr)
        an = json.load(open(files[0]))
        t.ok(an.get("runner", {}).get("status", {}).get("origin") not in (None, "timeout")
             and "origin" in an, "and the origin analyzer ran this time",
             an.get("runner"))

    # and when the retry is held too (both origin and spf ask the silent
    # DNS), the message is recorded as timed out and moved on, and the
    # pipeline goes on
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    opts = {"resolver": '{"127.0.0.1:%d"}' % hole.getsockname()[1],
            "analysis_timeout": "1"}
    # a public client address (PROXY), so that the analyzers ask DNS
    # (PTR, SPF); from loopback they have nothing to look up
    with Trap(t, listeners=("proxy:127.0.0.1:0",), options=opts) as trap:
        t0 = time.monotonic()
        t.is_(send_proxied(trap.host, trap.port, "2.125.160.216", "three",
                           "hello"), b"250", "stored")
        files = wait_for(lambda: analysis_files(trap), 30,
                         what="the timed-out message moved on")
        an = json.load(open(files[0]))
        t.is_(an.get("runner", {}).get("status"), "timeout",
              "an analysis past analysis_timeout is recorded as timed out")
        t.ok(time.monotonic() - t0 < 15,
             "within about a second and the restart's backoff, not the "
             "resolver's 4 s per lookup over every lookup")
        t.ok(not os.path.exists(os.path.join(os.path.dirname(files[0]),
                                             "analysis.lock")),
             "its lock removed")
        log = open(trap.logpath, "rb").read()
        t.ok(b"killed by signal %d" % signal.SIGALRM in log,
             "the parent saw the worker stopped by the watchdog")
        t.ok(b"ran past analysis_timeout" in log,
             "the restarted worker says why it skipped the message")
        hole.close()    # now every lookup fails at once: nothing listens
        t.is_(send_proxied(trap.host, trap.port, "2.125.160.216", "four",
                           "hello"), b"250", "stored")
        files = wait_for(lambda: (lambda f: f if len(f) == 2 else None)(
            analysis_files(trap)), 30, what="the next message analysed")
        done = [json.load(open(f)) for f in files]
        st = [a["runner"]["status"] for a in done]
        t.ok("timeout" in st and any(isinstance(x, dict) for x in st),
             "the next message has its full analysis", st)
    lost_notices(t)
    beside_the_worker(t)
    worker_backoff(t)
    t.done()


def worker_backoff(t):
    """The worker's restarts wait at most 4 s: each message that stops it
    is bounded by its analysis.lock, and a long wait held up the analysis
    of everything behind it. Four messages whose origin lookup never ends:
    four watchdog stops in a row, restarts after 1, 2, 4 and 4 s."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    opts = {"resolver": '{"127.0.0.1:%d"}' % hole.getsockname()[1],
            "analysis_timeout": "1", "analyzers": '{"origin", "content"}'}
    with Trap(t, listeners=("proxy:127.0.0.1:0",), options=opts) as trap:
        for i in range(4):
            send_proxied(trap.host, trap.port, "2.125.160.%d" % (10 + i),
                         "stuck %d" % i, "hello")
        try:
            wait_for(lambda: len(analysis_files(trap)) == 4, 60,
                     what="four messages analysed without origin")
            t.ok(True, "four messages that stop the worker are all analysed")
        except TimeoutError as e:
            t.ok(False, "four messages that stop the worker are all analysed", str(e))
        waits = [int(x) for x in re.findall(
            rb"worker role pid=\d+ killed by signal 14; restarting in (\d+)s",
            open(trap.logpath, "rb").read())]
        t.ok(len(waits) >= 4 and max(waits) == 4,
             "the worker's restart waits stop growing at 4 s", waits)
    hole.close()


def new_count(trap):
    return len(glob.glob(os.path.join(trap.spool, "new", "*", "*")))


def worker_pid(trap):
    """The pid of the trap's worker role, from its log."""
    m = wait_for(lambda: re.search(rb"started worker role pid=(\d+)",
                                   open(trap.logpath, "rb").read()), 10,
                 what="the worker's pid")
    return int(m.group(1))


def lost_notices(t):
    """A stopped worker: the SMTP role's notices overflow the pipe (64 KiB,
    18 bytes a notice) and are lost; once the worker runs again it is told
    to rescan new/ and analyses every message, not only those announced."""
    n, sessions = 4400, 4
    with Trap(t, options={"analyzers": "{}"}) as trap:
        wpid = worker_pid(trap)
        # the worker past its start (whose scan of new/ would find all)
        send(trap, "first")
        wait_for(lambda: len(analysis_files(trap)) == 1, 20, what="the worker running")
        os.kill(wpid, signal.SIGSTOP)
        errors = []

        def sender(k):
            try:
                with smtplib.SMTP(trap.host, trap.port, timeout=60) as s:
                    s.ehlo("flood.example")
                    for i in range(n // sessions):
                        s.sendmail("a@example.org", ["b@example.net"],
                                   b"Subject: %d-%d\r\n\r\nx\r\n" % (k, i))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
        try:
            th = [threading.Thread(target=sender, args=(k,)) for k in range(sessions)]
            for x in th:
                x.start()
            for x in th:
                x.join()
        finally:
            os.kill(wpid, signal.SIGCONT)
        t.ok(not errors, "%d messages stored while the worker was stopped" % n, errors)
        log = open(trap.logpath, "rb").read()
        t.ok(b"notice pipe is full" in log, "the SMTP role logged the full pipe")
        try:
            wait_for(lambda: new_count(trap) == 0, 30, what="new/ empty")
            t.ok(True, "the worker analysed every message, the unannounced too")
        except TimeoutError:
            t.ok(False, "the worker analysed every message, the unannounced too",
                 "%d still in new/" % new_count(trap))
        t.is_(len(analysis_files(trap)), n + 1, "every message has its analysis.json")


def beside_the_worker(t):
    """relaytrap analyze while relaytrapd runs leaves new/ to the worker:
    it had moved a message's directory from under the worker, whose
    relay-test verdict (and forwarding) was then lost."""
    with Trap(t) as trap:
        wpid = worker_pid(trap)
        send(trap, "first")
        wait_for(lambda: len(analysis_files(trap)) == 1, 20, what="the first analysed")
        os.kill(wpid, signal.SIGSTOP)
        try:
            send(trap, "second")
            wait_for(lambda: new_count(trap) == 1, 20, what="the second in new/")
            new_id = os.path.basename(glob.glob(os.path.join(trap.spool, "new", "*", "*"))[0])
            r = subprocess_run(trap, "analyze", "--all")
            t.ok(r.returncode == 0 and b"1 analyzed, 0 failed" in r.stdout
                 and b"left to its worker" in r.stderr and new_count(trap) == 1,
                 "analyze --all beside a running relaytrapd: cur/ only",
                 (r.stdout, r.stderr, new_count(trap)))
            r = subprocess_run(trap, "analyze", new_id)
            t.ok(r.returncode == 1 and b"is in new/" in r.stderr and new_count(trap) == 1,
                 "analyze ID of a message in new/: left to the worker, exit 1",
                 (r.stdout, r.stderr))
        finally:
            os.kill(wpid, signal.SIGCONT)
        wait_for(lambda: new_count(trap) == 0, 20, what="the worker's analysis")
        rt = glob.glob(os.path.join(trap.spool, "cur", "*", new_id, "relaytest.json"))
        t.ok(len(rt) == 1, "the worker classified it (relaytest.json)", rt)


def subprocess_run(trap, *args):
    import subprocess
    from rtlib import RELAYTRAP
    return subprocess.run([RELAYTRAP, "-c", trap.cli_conf(), "-s", trap.spool] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


if __name__ == "__main__":
    main()
