#!/bin/bash
# bench/cli-sync.sh -- what the index sync costs every relaytrap command on
# a large day bucket. Every command first brings the index up to date with
# the spool (queue_index_sync); this makes one cur/<day>/ bucket of N
# message directories (empty: enough for the sync, which reads names),
# lets relaytrap index them once, waits out the racy window, and times
# `relaytrap queue list --limit 1` three times. Usage:
# bench/cli-sync.sh RELAYTRAP [N]   (default N = 200000)
set -eu
R=${1:?usage: bench/cli-sync.sh RELAYTRAP [N]}
N=${2:-200000}
W=$(mktemp -d /var/tmp/rt-cli-sync.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W"/spool/{tmp,new,cur,corrupt,sessions,journal}
python3 - "$W/spool" "$N" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
d = os.path.join(root, "cur", "20261126")
os.makedirs(d)
base = 1795000000000000
for i in range(n):
    os.mkdir(os.path.join(d, "%013x%03x" % (base + i * 10, i % 4096)))
EOF
t0=$(date +%s.%N)
"$R" -c /dev/null -s "$W/spool" queue list --limit 1 >/dev/null 2>&1 || true
t1=$(date +%s.%N)
echo "first command (indexes $N entries): $(echo "$t1 - $t0" | bc) s"
sleep 2.5	# past QUEUE_INDEX_RACY_NS, so the bucket is recorded as clean
"$R" -c /dev/null -s "$W/spool" queue list --limit 1 >/dev/null 2>&1 || true
for k in 1 2 3; do
	t0=$(date +%s.%N)
	"$R" -c /dev/null -s "$W/spool" queue list --limit 1 >/dev/null 2>&1 || true
	t1=$(date +%s.%N)
	echo "queue list --limit 1, bucket unchanged: $(echo "$t1 - $t0" | bc) s"
done
