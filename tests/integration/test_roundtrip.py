#!/usr/bin/env python3
"""Round trip of every spam fixture: sent with smtplib (raw bytes, CRLF
line endings), then `relaytrap queue cat ID` returns exactly those bytes
and the envelope's size and sha256 match."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtlib import Tap, Trap, FIXTURES, wait_for  # noqa: E402
from storelib import Spool, to_crlf, sha256, queued_id, smtp_send  # noqa: E402

SKIP_NAMES = ("LICENSE", "NOTICE", "README")


def fixtures():
    top = os.path.join(FIXTURES, "spam")
    out = []
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for f in sorted(files):
            if f.startswith(SKIP_NAMES):
                continue
            out.append(os.path.join(root, f))
    return out


def main():
    t = Tap()
    files = fixtures()
    if not files:
        t.skip_all("no fixtures under %s" % os.path.join(FIXTURES, "spam"))
    t.diag("%d fixture messages" % len(files))
    with Trap(t) as trap:
        sent = []                       # (name, bytes, qid)
        bad = []
        for i, p in enumerate(files):
            name = os.path.relpath(p, FIXTURES)
            with open(p, "rb") as f:
                body = to_crlf(f.read())
            try:
                c, resp = smtp_send(trap.host, trap.port, body,
                                    rcpts=("dropbox%d@example.com" % i,))
            except Exception as e:  # noqa: BLE001 - any failure is reported
                c, resp = None, repr(e).encode()
            if c == 250 and queued_id(resp):
                sent.append((name, body, queued_id(resp)))
            else:
                bad.append((name, c, resp))
        t.ok(not bad, "every fixture accepted with 250 ... queued as QID",
             "\n".join("%s: %r %r" % b for b in bad[:20]))

        spool = Spool(trap)
        try:
            wait_for(lambda: len(spool.ids()) >= len(sent), 20,
                     what="%d messages listed" % len(sent))
            by_qid = spool.by_queue_id()
        except Exception as e:  # noqa: BLE001
            t.ok(False, "queue list/show work", repr(e))
            by_qid = {}
        try:
            listed = len(spool.ids())
        except RuntimeError as e:
            listed = repr(e)
        t.is_(listed, len(sent), "queue list shows exactly the accepted messages")

        for name, body, qid in sent:
            env = by_qid.get(qid)
            if env is None:
                t.ok(False, "%s: stored (queue_id %s)" % (name, qid),
                     "no envelope has queue_id %s" % qid)
                continue
            got = spool.cat(env["id"])
            diag = None
            if got is not None and got != body:
                k = next((j for j in range(min(len(got), len(body)))
                          if got[j] != body[j]), min(len(got), len(body)))
                diag = ("sent %d bytes, cat %d bytes; first difference at %d:\n"
                        "sent %r\ncat  %r" % (len(body), len(got), k,
                                              body[max(0, k - 20):k + 20],
                                              got[max(0, k - 20):k + 20]))
            t.ok(got == body, "%s: queue cat is byte-identical" % name,
                 diag or "cat failed")
            t.ok(env.get("size") == len(body) and env.get("sha256") == sha256(body),
                 "%s: envelope size/sha256 match" % name,
                 "envelope size %r sha256 %r; want %d %s"
                 % (env.get("size"), env.get("sha256"), len(body), sha256(body)))
    t.done()


if __name__ == "__main__":
    main()
