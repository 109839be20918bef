#!/bin/bash
# bench/quick.sh -- relaytrapd alone, on a freshly made ext4 (a loop image
# under /var/tmp, as bench/run.sh does), for 3 s at each load given as
# "S M" (S sessions, M messages per connection); prints loadgen's line and
# the bytes written to the loop device per accepted message. For measuring
# one change quickly; bench/run.sh is the side-by-side comparison.
# Usage (root): bench/quick.sh RELAYTRAPD ["S M" ...] [-- -o 'option = value' ...]
# Default loads: 1:1 20:1 100:1 1:10 20:10 100:10. SPOOL_TMPFS=1 puts the
# spool on tmpfs instead (no disk cost: the CPU ceiling).
set -u
RTD=${1:?usage: bench/quick.sh RELAYTRAPD ["S M" ...] [-- -o OPTION ...]}
shift
loads=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do loads+=("$1"); shift; done
[ $# -gt 0 ] && shift
extra=("$@")
[ ${#loads[@]} -eq 0 ] && loads=("1 1" "20 1" "100 1" "1 10" "20 10" "100 10")
SRC=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /var/tmp/rt-quick.XXXXXX)
img=$work.img
mnt=$work/mnt
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	umount "$mnt" 2>/dev/null
	rm -rf "$work" "$img"
}
trap cleanup EXIT
cc -O2 -Wall -o "$work/loadgen" "$SRC/bench/loadgen.c" || exit 1
mkdir -p "$mnt"
if [ -n "${SPOOL_TMPFS:-}" ]; then
	mount -t tmpfs -o size=4g tmpfs "$mnt"
	dev=
else
	truncate -s 8G "$img"
	mkfs.ext4 -q -F "$img"
	mount -o loop "$img" "$mnt"
	dev=$(basename "$(findmnt -n -o SOURCE "$mnt")")
fi
ulimit -n "$(ulimit -Hn)"
n=0
for l in "${loads[@]}"; do
	set -- $l
	n=$((n + 1))
	sp=$mnt/spool.$n
	mkdir -p "$sp"
	chown nobody "$sp"
	"$RTD" -f -c /dev/null -l 127.0.0.1:0 -s "$sp" -o 'user = nobody' \
	    -o 'max_sessions = 20000' -o 'max_sessions_per_ip = 20000' \
	    -o 'resolver = {"127.0.0.1:1"}' "${extra[@]}" \
	    > "$work/out" 2> "$work/err" &
	pid=$!
	for i in $(seq 100); do
		grep -q '^listening ' "$work/out" && break
		sleep 0.1
	done
	port=$(sed -n 's/^listening 127\.0\.0\.1://p' "$work/out")
	[ -n "$port" ] || { echo "quick.sh: relaytrapd did not start" >&2; tail -3 "$work/err" >&2; exit 1; }
	sync
	w0=0; [ -n "$dev" ] && w0=$(awk '{print $7}' "/sys/block/$dev/stat")
	out=$("$work/loadgen" -s "$1" -m "$2" -d 3000 -l 2048 "127.0.0.1:$port" | tail -1)
	kill -TERM "$pid"; wait "$pid" 2>/dev/null; pid=
	sync
	w1=0; [ -n "$dev" ] && w1=$(awk '{print $7}' "/sys/block/$dev/stat")
	ok=$(echo "$out" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
	stored=$(find "$sp/new" "$sp/cur" -name message -type f | wc -l)
	per=-; [ -n "$dev" ] && [ "${ok:-0}" -gt 0 ] && per=$(( (w1 - w0) * 512 / ok ))
	printf '%s:%s %s stored=%s written_per_msg=%s\n' "$1" "$2" \
	    "$(echo "$out" | grep -o 'rate=[0-9.]*\|p50_ms=[0-9.]*\|p99_ms=[0-9.]*' | tr '\n' ' ')" \
	    "$stored" "$per"
done
