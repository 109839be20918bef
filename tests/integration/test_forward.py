#!/usr/bin/env python3
"""The forwarder end to end (issue 3, "Tests"): relaytrapd with
forward_mode on delivers exactly the relay tests, once per recipient, with
the original envelope sender and the stored bytes plus one Received header,
to real SMTP receivers (Postfix's smtp-sink) found through static routes or
through MX records served by a real DNS server (unbound); every cap holds
at its exact value; the circuit breaker trips; a restart loses no pending
forward and resets no counter; dry-run and off send nothing.

smtp-sink dumps lines without their CR, so "byte-identical" is checked on
the stored message with CRLF turned into LF (the relay tests sent here
contain no bare CR). MX targets carry no port, so the MX cases need
receivers on port 25 of 127.0.0.1 and ::1 (root, port free); otherwise
they are skipped and the static-route cases still run.
"""
import json
import os
import re
import smtplib
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, wait_for, FIXTURES, TOP_BUILDDIR  # noqa: E402
from fwdlib import (Sink, Unbound, PortLock, lf, port_free, rmtree,  # noqa: E402
                    free_port, stop_all)

TRAP_IP = "198.51.100.25"
NOCAPS = {k: -1 for k in ("forward_max_per_hour", "forward_max_per_day",
                          "forward_max_per_client", "forward_max_per_net",
                          "forward_max_per_asn", "forward_max_per_domain",
                          "forward_max_per_dropbox")}
FINAL = ("delivered", "permfail", "capped", "breaker", "dry-run")


def opts(mode="on", routes=(), **kw):
    o = {"trap_address": '{"%s"}' % TRAP_IP,
         "persona": "postfix",
         "relaytest_cluster_first": 0,
         "forward_mode": '"%s"' % mode,
         "forward_breaker_run": 0,
         "forward_retry_base": 1,
         "forward_timeout": 15,
         "forward_helo": '"trap.example.test"'}
    o.update(NOCAPS)
    if routes:
        o["forward_route"] = "{%s}" % ", ".join('"%s"' % r for r in routes)
    o.update(kw)
    return o


def mktrap(t, work, name, options):
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    return Trap(t, options=options, workdir=d)


def is_d(t, got, want, name, diag=""):
    """Tap.is_ with extra diagnostics on failure"""
    return t.ok(got == want, name, "got:  %r\nwant: %r\n%s" % (got, want, diag))


def relay_test(tag, sender, rcpts):
    """a classic relay test: the trap's address in Subject and body"""
    return ("From: <%s>\r\nTo: %s\r\nSubject: Relay test %s %s\r\n"
            "Message-ID: <%s.%s@probe.example>\r\n"
            "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\n"
            "Relay check of %s, tag %s.\r\nIf you read this, it works.\r\n"
            % (sender or "nobody@probe.example", ", ".join(rcpts), TRAP_IP,
               tag, tag, TRAP_IP.replace(".", ""), TRAP_IP, tag)).encode()


def send(trap, sender, rcpts, data):
    with smtplib.SMTP(trap.host, trap.port, timeout=20) as s:
        s.ehlo("probe.example")
        s.sendmail(sender, rcpts, data)


def spam_files(n):
    """the first small .eml (without the trap address) of each fixture set"""
    out = []
    base = os.path.join(FIXTURES, "spam")
    for d in sorted(os.listdir(base)):
        found = None
        for root, _, files in sorted(os.walk(os.path.join(base, d))):
            for f in sorted(files):
                p = os.path.join(root, f)
                if f.endswith(".eml") and os.path.getsize(p) < 100000 and \
                        TRAP_IP.encode() not in open(p, "rb").read():
                    found = p
                    break
            if found:
                break
        if found:
            out.append(found)
    return out[:n]


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def msg_id(trap, tag):
    for m in trap.messages():
        if tag in (m.get("subject") or ""):
            return m["id"]
    return None


def wait_id(trap, tag, timeout=20):
    return wait_for(lambda: msg_id(trap, tag), timeout,
                    what="message %s in the queue" % tag)


def fwd_events(trap, mid=None):
    return [e for e in trap.read_events() if e.get("type") == "forward"
            and (mid is None or e.get("id") == mid)]


def wait_final(trap, mid, rcpt, timeout=20, statuses=FINAL):
    """the first forward event for (mid, rcpt) whose status is in statuses"""
    def f():
        for e in fwd_events(trap, mid):
            if e.get("rcpt") == rcpt and e.get("status") in statuses:
                return e
        return None
    try:
        return wait_for(f, timeout, what="forward event of %s to %s" % (mid, rcpt))
    except TimeoutError:
        return None


def verdicts(trap):
    return {e.get("id"): e.get("verdict") for e in trap.read_events()
            if e.get("type") == "relaytest"}


def wait_verdict(trap, mid, timeout=20):
    try:
        return wait_for(lambda: verdicts(trap).get(mid), timeout,
                        what="verdict of %s" % mid)
    except TimeoutError:
        return None


def show_json(trap, mid):
    r = trap.cli("queue", "show", mid, "--json")
    try:
        return json.loads(r.stdout.decode() or "{}")
    except ValueError:
        return {}


def evidence(trap, mid=None):
    evs = fwd_events(trap, mid) if mid else \
        [e for e in trap.read_events() if e.get("type") in ("forward", "relaytest")]
    return "events: %s\nlog tail:\n%s" % (json.dumps(evs)[:3000], trap.read_log()[-2500:])


def tag_of(sinkmsg):
    for l in sinkmsg.data.split(b"\n"):
        if l.startswith(b"Subject: Relay test "):
            return l.split()[-1].decode()
    return None


def wait_sink(sink, n, timeout=20):
    try:
        return wait_for(lambda: (lambda m: m if len(m) >= n else None)(sink.messages()),
                        timeout, what="%d messages at %s" % (n, sink.name))
    except TimeoutError:
        return sink.messages()


# -- 1. a mixed run ------------------------------------------------------
def mixed_run(t, work):
    sink = Sink(work, "127.0.0.1").start()
    trap = mktrap(t, work, "mixed", opts("on", ["*=127.0.0.1:%d" % sink.port]))
    try:
        trap.start()
        relay = [("r1", "spammer@example.org", ["box1@example.com"]),
                 ("r2", "bulk@example.net", ["box2@example.com", "box3@example.org"]),
                 ("r3", "", ["box4@example.com"])]
        spams = spam_files(3)
        t.ok(len(spams) == 3, "three spam fixtures found", spams)
        plan = []
        for i, r in enumerate(relay):
            if i < len(spams):
                plan.append(("spam", "s%d" % i, spams[i]))
            plan.append(("relay",) + r)
        plan.insert(3, ("nmap",))
        for p in plan:
            if p[0] == "spam":
                data = b"Subject: spam-" + p[1].encode() + b"\r\n" + \
                    crlf(open(p[2], "rb").read())
                send(trap, "offers@bulk.example", ["u1@example.com",
                     "u2@example.com", "u3@example.net"], data)
            elif p[0] == "nmap":
                send(trap, "antispam@nmap.scanme.org", ["relaytest@nmap.scanme.org"],
                     relay_test("nmap", "antispam@nmap.scanme.org",
                                ["relaytest@nmap.scanme.org"]))
            else:
                send(trap, p[2], p[3], relay_test(p[1], p[2], p[3]))
                if p[1] == "r1":
                    # the spammer's tester is waiting: out within 5 s of 250
                    try:
                        wait_for(lambda: [m for m in sink.messages()
                                          if tag_of(m) == "r1"], 5,
                                 what="r1 at the receiver")
                        t.ok(True, "a relay test leaves within 5 s of its 250")
                    except TimeoutError as e:
                        t.ok(False, "a relay test leaves within 5 s of its 250",
                             "%s\n%s" % (e, evidence(trap)))
        ids = {r[0]: wait_id(trap, r[0]) for r in relay}
        nmap_id = wait_id(trap, "nmap")
        for tag, sender, rcpts in relay:
            for rc in rcpts:
                e = wait_final(trap, ids[tag], rc)
                t.ok(e is not None and e.get("status") == "delivered",
                     "relay test %s to %s: forward event delivered" % (tag, rc),
                     evidence(trap, ids[tag]) if not e else e)
        nrcpt = sum(len(r[2]) for r in relay)
        wait_sink(sink, nrcpt)
        # every message is classified before we count what arrived
        all_ids = [m["id"] for m in trap.messages()]
        for mid in all_ids:
            wait_verdict(trap, mid)
        vs = verdicts(trap)
        is_d(t, vs.get(nmap_id), "tester", "nmap's probe: verdict tester")
        is_d(t, sorted(v for k, v in vs.items() if k not in ids.values() and k != nmap_id),
             ["spam"] * len(spams), "the spam fixtures are classified spam")
        is_d(t, sorted(v for k, v in vs.items() if k in ids.values()),
              ["relay_test"] * 3, "the three relay tests are classified relay_test")
        got = sink.messages()
        is_d(t, len(got), nrcpt, "exactly one delivery per relay-test recipient "
              "(%d), no spam, no nmap probe" % nrcpt)
        t.ok(all(len(m.rcpts) == 1 for m in got),
             "one recipient per transaction", [m.rcpts for m in got])
        want = sorted((tag, rc) for tag, _, rcpts in relay for rc in rcpts)
        is_d(t, sorted((str(tag_of(m)), m.rcpt_addrs[0] if m.rcpt_addrs else "")
                       for m in got), want, "each relay test arrived at each of its recipients")
        senders = {tag: s for tag, s, _ in relay}
        t.ok(all(m.sender == senders.get(tag_of(m)) for m in got),
             "original envelope sender kept (including <>)",
             [(tag_of(m), m.mail) for m in got])
        ok_bytes, bad = True, []
        for m in got:
            tag = tag_of(m)
            stored = trap.cli("queue", "cat", ids.get(tag, "?")).stdout
            rcv, rest = m.split_received()
            if not rcv.startswith(b"Received: ") or rest != lf(stored):
                ok_bytes = False
                bad.append((tag, rcv[:200], rest[:300], lf(stored)[:300]))
        t.ok(ok_bytes and got, "stored bytes plus exactly one Received header on top", bad)
        # Postfix persona: "Received: from HELO (NAME [ADDR])\n\tby HOST
        # (Postfix) with ESMTP id QID\n\tfor <RCPT>; DATE"
        qids, shape = {}, []
        for m in got:
            rcv = m.split_received()[0].decode(errors="replace")
            mm = re.match(r"Received: from \S+ \(.*\[127\.0\.0\.1\]\)\n"
                          r"\tby \S+ \(Postfix\) with E?SMTPS?A? id ([0-9A-F]{8,})\n"
                          r"\tfor <([^>]*)>; \w{3}, .*\n$", rcv)
            if not mm or mm.group(2) != m.rcpt_addrs[0]:
                shape.append(rcv)
            else:
                qids[(tag_of(m), m.rcpt_addrs[0])] = mm.group(1)
        is_d(t, shape, [], "the added Received header has the Postfix persona's shape")
        # its id is the queue id the trap announced in "250 ... queued as
        # QID", as a real Postfix would write it (the "fresh queue
        # id": fresh for the trap, not copied from the message)
        stored_qids = {tag: show_json(trap, i).get("queue_id") for tag, i in ids.items()}
        is_d(t, sorted(qids.items()), sorted((k, stored_qids.get(k[0])) for k in qids),
             "the Received id is the trap's queue id of that message")
        t.ok(all(m.helo == "trap.example.test" for m in got),
             "EHLO uses forward_helo", [m.helo for m in got])
        spam_ids = [i for i in all_ids if i not in ids.values()]
        is_d(t, [e for e in trap.read_events() if e.get("type") == "forward"
               and e.get("id") in spam_ids], [],
              "no forward event for spam or the nmap probe")
        fj = show_json(trap, ids["r2"]).get("forward") or []
        is_d(t, sorted((f.get("rcpt"), f.get("status")) for f in fj),
              [("box2@example.com", "delivered"), ("box3@example.org", "delivered")],
              "queue show --json lists the forward outcome per recipient")
        bad = trap.event_type_conflicts()
        t.ok(not bad and any(e.get("type") == "analysis" for e in trap.read_events()),
             "forward and analysis events side by side: every key has one JSON "
             "type", bad)
    finally:
        trap.stop()
        sink.stop()


# -- 1b. MX delivery through the resolver --------------------------------
def mx_run(t, work):
    names = ["MX 10 over 20 picks 127.0.0.1", "MX 10 over 20 picks ::1",
             "no MX: A fallback"]
    why = None
    lock = PortLock(25)
    if not Unbound.available():
        why = "unbound not installed"
    elif os.geteuid() != 0:
        why = "needs root for port 25"
    elif not lock.acquire():
        why = "another run holds port 25"
    elif not (port_free("127.0.0.1", 25) and port_free("::1", 25)):
        why = "port 25 busy on loopback"
    if why:
        lock.release()
        for n in names:
            t.skip(n, why)
        return
    try:
        mx_cases(t, work, names)
    finally:
        stop_all()
        lock.release()


def mx_cases(t, work, names):
    dns = Unbound(work).start()
    try:
        s4 = Sink(work, "127.0.0.1", 25, name="mx4").start()
        s6 = Sink(work, "::1", 25, name="mx6").start()
    except (RuntimeError, TimeoutError) as e:   # lost a race for port 25
        for n in names:
            t.skip(n, "no receiver on port 25: %s" % str(e).splitlines()[0])
        return
    trap = mktrap(t, work, "mx", opts("on", resolver='{"127.0.0.1:%d"}' % dns.port))
    try:
        trap.start()
        cases = [("m1", "a@pref.fwd.test", s4), ("m2", "b@rpref.fwd.test", s6),
                 ("m3", "c@amx.fwd.test", s4)]
        for tag, rc, _ in cases:
            send(trap, "x@probe.example", [rc], relay_test(tag, "x@probe.example", [rc]))
        for i, (tag, rc, sink) in enumerate(cases):
            mid = wait_id(trap, tag)
            e = wait_final(trap, mid, rc)
            got = [m for m in sink.messages() if tag_of(m) == tag]
            t.ok(e is not None and e.get("status") == "delivered" and len(got) == 1,
                 names[i], evidence(trap, mid) + "\nsink %s: %s" % (
                     sink.name, [tag_of(m) for m in sink.messages()]))
    finally:
        trap.stop()
        s4.stop()
        s6.stop()
        dns.stop()


# -- 2. exact caps -------------------------------------------------------
def caps_run(t, work, name, cap_opts, plan, want_delivered, cap):
    sink = Sink(work, "127.0.0.1", name="sink-" + name).start()
    o = opts("on", ["*=127.0.0.1:%d" % sink.port])
    o.update(cap_opts)
    trap = mktrap(t, work, name, o)
    try:
        trap.start()
        outcomes = []
        for tag, rc in plan:
            send(trap, "s-%s@probe.example" % tag, [rc],
                 relay_test(tag, "s-%s@probe.example" % tag, [rc]))
            mid = wait_id(trap, tag)
            e = wait_final(trap, mid, rc)
            outcomes.append(e or {"status": "none", "id": mid})
        st = [e.get("status") for e in outcomes]
        is_d(t, st.count("delivered"), want_delivered,
              "%s: exactly %d delivered" % (name, want_delivered))
        capped = [e for e in outcomes if e.get("status") == "capped"]
        is_d(t, [e.get("cap") for e in capped], [cap] * (len(plan) - want_delivered),
              "%s: the other %d capped by cap %r" % (name, len(plan) - want_delivered, cap))
        is_d(t, st, ["delivered"] * want_delivered + ["capped"] * (len(plan) - want_delivered),
              "%s: the first %d pass, then the cap" % (name, want_delivered))
        got = wait_sink(sink, want_delivered, 10)
        is_d(t, len(got), want_delivered, "%s: %d messages arrived" % (name, want_delivered))
        if t.failed:
            t.diag(evidence(trap))
    finally:
        trap.stop()
        sink.stop()


# -- 3. circuit breaker --------------------------------------------------
def breaker_run(t, work):
    sink = Sink(work, "127.0.0.1", reject=["RCPT"], name="sink-5xx").start()
    trap = mktrap(t, work, "breaker", opts("on", ["*=127.0.0.1:%d" % sink.port],
                                           forward_breaker_run=2,
                                           forward_breaker_reset=0))
    try:
        trap.start()
        st = []
        for i in range(3):
            tag, rc = "b%d" % i, "bounce%d@example.com" % i
            send(trap, "x@probe.example", [rc], relay_test(tag, "x@probe.example", [rc]))
            mid = wait_id(trap, tag)
            e = wait_final(trap, mid, rc)
            st.append(e or {"status": "none", "id": mid})
        is_d(t, [e.get("status") for e in st], ["permfail", "permfail", "breaker"],
              "two 5xx to RCPT, then the breaker stops the third", evidence(trap))
        t.ok(all(e.get("code", 0) >= 500 for e in st[:2]),
             "permfail events carry the 5xx code", st[:2])
        third = fwd_events(trap, st[2].get("id"))
        t.ok(third and not [e for e in third if e.get("host") or e.get("code")
                            or e.get("status") in ("delivered", "tempfail", "permfail")],
             "the third relay test is not attempted (no host, no reply)", third)
        fj = show_json(trap, st[2].get("id")).get("forward") or [{}]
        is_d(t, fj[0].get("status"), "breaker", "forward.json records the breaker", fj)
        is_d(t, sink.messages(), [], "the rejecting receiver got no message")
    finally:
        trap.stop()
        sink.stop()


# -- 4. restart ----------------------------------------------------------
def restart_run(t, work):
    up = Sink(work, "127.0.0.1", name="sink-up").start()
    down_port = free_port()
    o = opts("on", ["down.test=127.0.0.1:%d" % down_port,
                    "*=127.0.0.1:%d" % up.port], forward_max_per_day=3)
    wd = os.path.join(work, "restart")
    os.makedirs(wd, exist_ok=True)
    down = None
    trap = Trap(t, options=o, workdir=wd)
    try:
        trap.start()
        send(trap, "x@probe.example", ["a@down.test"],
             relay_test("ra", "x@probe.example", ["a@down.test"]))
        ida = wait_id(trap, "ra")
        e = wait_final(trap, ida, "a@down.test", statuses=("tempfail",) + FINAL)
        is_d(t, (e or {}).get("status"), "tempfail",
              "receiver down: tempfail", evidence(trap, ida))
        send(trap, "x@probe.example", ["b@up.example"],
             relay_test("rb", "x@probe.example", ["b@up.example"]))
        idb = wait_id(trap, "rb")
        e = wait_final(trap, idb, "b@up.example")
        is_d(t, (e or {}).get("status"), "delivered", "second relay test delivered")
        trap.stop()
        down = Sink(work, "127.0.0.1", down_port, name="sink-down").start()
        trap = Trap(t, options=o, workdir=wd)
        trap.start()
        e = wait_final(trap, ida, "a@down.test", timeout=30)
        is_d(t, (e or {}).get("status"), "delivered",
              "after the restart the pending forward is delivered", evidence(trap, ida))
        got = wait_sink(down, 1, 10)
        is_d(t, [tag_of(m) for m in got], ["ra"], "it arrived once at the revived receiver")
        fj = show_json(trap, ida).get("forward") or [{}]
        t.ok(fj and fj[0].get("attempts", 0) >= 2,
             "forward.json counts the attempts", fj)
        st = []
        for tag in ("rc", "rd"):
            rc = "%s@up.example" % tag
            send(trap, "x@probe.example", [rc], relay_test(tag, "x@probe.example", [rc]))
            mid = wait_id(trap, tag)
            st.append(wait_final(trap, mid, rc) or {"status": "none", "id": mid})
        is_d(t, [(e.get("status"), e.get("cap")) for e in st],
              [("delivered", None), ("capped", "day")],
              "forward_max_per_day = 3 still counts the 2 forwards before the restart",
              evidence(trap))
        is_d(t, len(up.messages()), 2, "the live receiver got exactly rb and rc")
    finally:
        trap.stop()
        up.stop()
        if down:
            down.stop()


# -- 5. dry-run and off --------------------------------------------------
def quiet_run(t, work, mode):
    sink = Sink(work, "127.0.0.1", name="sink-" + mode).start()
    trap = mktrap(t, work, mode, opts(mode, ["*=127.0.0.1:%d" % sink.port]))
    try:
        trap.start()
        rcpts = ["q1@example.com", "q2@example.net"]
        send(trap, "x@probe.example", rcpts, relay_test("q1", "x@probe.example", rcpts))
        # a second message as a barrier: the worker handles them in order
        send(trap, "x@probe.example", ["q3@example.com"],
             relay_test("q2", "x@probe.example", ["q3@example.com"]))
        id1, id2 = wait_id(trap, "q1"), wait_id(trap, "q2")
        is_d(t, (wait_verdict(trap, id1), wait_verdict(trap, id2)),
              ("relay_test", "relay_test"), "%s: both classified relay_test" % mode)
        if mode == "dry-run":
            evs = [wait_final(trap, id1, r) for r in rcpts] + \
                [wait_final(trap, id2, "q3@example.com")]
            is_d(t, [(e or {}).get("status") for e in evs], ["dry-run"] * 3,
                  "dry-run: one forward event per recipient, status dry-run",
                  evidence(trap))
            is_d(t, sorted(e.get("status") for e in fwd_events(trap)), ["dry-run"] * 3,
                  "dry-run: no other forward event")
        else:
            is_d(t, fwd_events(trap), [], "off: no forward event")
            t.ok(not show_json(trap, id1).get("forward"),
                 "off: no forward outcome stored", show_json(trap, id1))
        is_d(t, sink.messages(), [], "%s: the receiver got nothing" % mode)
    finally:
        trap.stop()
        sink.stop()


def forwarding_built():
    """configure --disable-forwarding leaves RT_FORWARDING undefined"""
    try:
        with open(os.path.join(TOP_BUILDDIR, "config.h")) as f:
            return any(l.startswith("#define RT_FORWARDING ") for l in f)
    except OSError:
        return True


def compiled_out_run(t, work):
    """--disable-forwarding: forward_mode = on decides like dry-run and
    nothing is sent"""
    sink = Sink(work, "127.0.0.1", name="sink-nofwd").start()
    trap = mktrap(t, work, "nofwd", opts("on", ["*=127.0.0.1:%d" % sink.port]))
    try:
        trap.start()
        send(trap, "x@probe.example", ["n1@example.com"],
             relay_test("n1", "x@probe.example", ["n1@example.com"]))
        mid = wait_id(trap, "n1")
        e = wait_final(trap, mid, "n1@example.com")
        is_d(t, (e or {}).get("status"), "dry-run",
             "--disable-forwarding: forward_mode = on acts as dry-run", evidence(trap))
        is_d(t, sink.messages(), [], "--disable-forwarding: nothing is sent")
    finally:
        trap.stop()
        sink.stop()


def main():
    t = Tap()
    if not Sink.available():
        t.skip_all("smtp-sink not installed")
    work = tempfile.mkdtemp(prefix="rt-fwd-")
    os.chmod(work, 0o755)
    steps = [
        ("mixed run", lambda: mixed_run(t, work)),
        ("MX", lambda: mx_run(t, work)),
        ("per_day", lambda: caps_run(t, work, "per_day", {"forward_max_per_day": 3},
                                     [("c%d" % i, "d%d@example.com" % i) for i in range(5)],
                                     3, "day")),
        ("per_dropbox", lambda: caps_run(t, work, "per_dropbox",
                                         {"forward_max_per_dropbox": 2},
                                         [("p%d" % i, "drop@example.com") for i in range(4)],
                                         2, "dropbox")),
        ("breaker", lambda: breaker_run(t, work)),
        ("restart", lambda: restart_run(t, work)),
        ("dry-run", lambda: quiet_run(t, work, "dry-run")),
        ("off", lambda: quiet_run(t, work, "off")),
    ]
    if not forwarding_built():
        steps = [("compiled out", lambda: compiled_out_run(t, work))] + \
            [s for s in steps if s[0] in ("dry-run", "off")]
    only = os.environ.get("RT_FWD_ONLY")      # e.g. "restart,off"
    failed_before = 0
    try:
        for name, fn in steps:
            if only and name not in only.split(","):
                continue
            try:
                fn()
            except Exception as e:  # noqa: BLE001 -- report, go on
                t.ok(False, "%s: ran to the end" % name,
                     "%s: %s" % (type(e).__name__, e))
            finally:
                stop_all()
            if t.failed > failed_before:
                t.diag("%s failed; files kept in %s" % (name, work))
            failed_before = t.failed
    finally:
        stop_all()
    if t.failed or os.environ.get("RT_FWD_KEEP"):
        t.diag("files in " + work)
    else:
        rmtree(work)
    t.done()


if __name__ == "__main__":
    main()
