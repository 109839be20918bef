#!/bin/bash
# bench/analyze.sh -- messages analysed per second per core: the spam
# fixtures (tests/fixtures/spam, 109 real messages) copied N times into a
# spool through relaytrapd, then `relaytrap analyze --all` (one process,
# one core) with local databases (the MaxMind test databases) and a warm
# DNS cache (DNS on a closed loopback port: every lookup fails at once, the
# cheapest possible resolver). Prints messages/s.
# As root the spool is on a freshly made ext4 (a loop image under
# /var/tmp), as in bench/run.sh: the sandbox's root file system is churned
# by test runs and its file creation speed varies several-fold from run to
# run. ROOT_FS=1 keeps it on /var/tmp.
# KEEP=DIR copies the filled spool (every message in new/, not yet
# analysed) and rt.conf to DIR before the runs, for profiling by hand.
# Usage: bench/analyze.sh BUILDDIR [COPIES]
set -eu
B=${1:?usage: bench/analyze.sh BUILDDIR [COPIES]}
COPIES=${2:-20}
SRC=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /var/tmp/rt-analyze-bench.XXXXXX)
img=
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	if [ -n "$img" ]; then
		umount "$work" 2>/dev/null
		rm -f "$img"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
if [ "$(id -u)" = 0 ] && [ -z "${ROOT_FS:-}" ] && command -v mkfs.ext4 >/dev/null; then
	img=$work.img
	truncate -s 4G "$img"
	mkfs.ext4 -q -F "$img"
	mount -o loop "$img" "$work"
fi
chmod 755 "$work"
mm=$SRC/tests/fixtures/mmdb
cat > "$work/rt.conf" <<CONF
resolver = {"127.0.0.1:1"}
geoip_db = {"$mm/GeoIP2-Country-Test.mmdb", "$mm/GeoLite2-ASN-Test.mmdb"}
analyzers = {}
CONF
# a trap that stores and indexes but does not analyze, to fill the spool
"$B/relaytrapd" -f -c "$work/rt.conf" -l 127.0.0.1:0 -s "$work/spool" \
    -o 'user = nobody' -o 'analyzers = {}' -o 'max_sessions_per_ip = 1000' \
    > "$work/out" 2> "$work/err" &
pid=$!
for i in $(seq 50); do grep -q listening "$work/out" && break; sleep 0.1; done
port=$(sed -n 's/^listening 127\.0\.0\.1://p' "$work/out")
python3 - "$port" "$COPIES" "$SRC/tests/fixtures/spam" <<'PY'
import glob, os, smtplib, sys
port, copies, root = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
msgs = []
for p in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
    if os.path.isfile(p) and not p.endswith((".md", "LICENSE", "NOTICE")):
        d = open(p, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        msgs.append(d)
# a connection per copy: the trap's per-session limits (max_errors counts
# the fixtures it refuses) are not what is measured here
for c in range(copies):
    with smtplib.SMTP("127.0.0.1", port) as s:
        for d in msgs:
            try:
                s.sendmail("bench@example.org", ["rcpt@example.net"], d)
            except smtplib.SMTPResponseException as e:
                print("refused (%d %s)" % (e.smtp_code, e.smtp_error[:60]),
                      file=sys.stderr)
print("sent", copies * len(msgs))
PY
kill $pid; wait $pid 2>/dev/null || true
pid=
n=$(find "$work/spool" -name message | wc -l)
sed -i 's/^analyzers = {}$//' "$work/rt.conf"
# The filling trap's worker ran with no analyzers but still moved every
# message to cur/ with an (empty) analysis.json. Put them back into new/
# as they were committed, so that the first run below is the worker's job:
# analyse each message once, write analysis.json, move it to cur/.
python3 - "$work/spool" <<'PY'
import glob, os, sys
root = sys.argv[1]
for d in glob.glob(os.path.join(root, "cur", "*", "*")):
    for f in ("analysis.json", "relaytest.json", "analysis.lock"):
        try:
            os.unlink(os.path.join(d, f))
        except FileNotFoundError:
            pass
    day, mid = d.split(os.sep)[-2:]
    os.makedirs(os.path.join(root, "new", day), exist_ok=True)
    os.rename(d, os.path.join(root, "new", day, mid))
PY
if [ -n "${KEEP:-}" ]; then
	rm -rf "$KEEP" && mkdir -p "$KEEP"
	cp -a "$work/spool" "$work/rt.conf" "$KEEP/"
fi
sync
run() {
	t0=$(date +%s.%N)
	taskset -c 0 "$B/relaytrap" -c "$work/rt.conf" -s "$work/spool" \
	    analyze --all > "$work/analyze.out" 2> "$work/analyze.err"
	t1=$(date +%s.%N)
	secs=$(echo "$t1 - $t0" | bc)
	echo "$1: analysed $n messages in $secs s on one core: $(echo "$n / $secs" | bc) messages/s"
}
run "first analysis (new/ to cur/, the worker's job)"
sync
run "re-analysis (in cur/, analysis.json replaced)"
python3 - "$work/spool" <<'PY'
import glob, json, sys, collections
t = collections.Counter(); n = 0
for p in glob.glob(sys.argv[1] + "/cur/*/*/analysis.json"):
    a = json.load(open(p)); n += 1
    for k, v in a.get("runner", {}).get("timings_ms", {}).items():
        t[k] += v
print("ms per message by analyzer:", {k: round(v / max(n, 1), 3) for k, v in t.items()})
PY
