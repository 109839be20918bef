#!/bin/bash
# bench/run.sh - relaytrapd against smtp-sink (the ceiling, stores nothing)
# and a Postfix that holds everything (the peer), in one run.
#
# usage: bench/run.sh [--quick] [--reps N] [--no-memory] [--no-throughput]
#                     [--root-fs]
#
#   By default the work directory is a freshly made ext4 file system (a
#   sparse image under /var/tmp, loop-mounted for the run and removed
#   after it), holding both Postfix's queue and relaytrapd's spools. A file
#   system that test suites have just filled and emptied allocates inodes
#   several times slower (ext4 skips recently freed ones), which would
#   measure the sandbox, not the servers. --root-fs uses BENCH_WORK on the
#   root file system instead.
#
#   --quick   1 s per run instead of 3 s, 1 repetition instead of 3: ~2 min
#
#   RELAYTRAPD  path of relaytrapd (default ./relaytrapd; if missing, the
#               relaytrapd columns say "n/a")
#   BENCH_WORK  work directory (default /var/tmp/rt-bench): loadgen binary,
#               results, Postfix instance, relaytrapd spools.  Postfix's
#               queue and relaytrapd's spool are both under it: same disk.
#
# Throughput: loads S:M (S concurrent sessions, M messages per connection)
# 1:1 20:1 100:1 1:10 20:10 100:10, messages of 2048 payload bytes.
# Every load is driven by bench/loadgen (exactly M transactions per
# connection, one command at a time like smtp-source) for a fixed time
# (3 s, --quick 1 s): no new connection after that, open ones finish their
# M messages; rate = messages accepted / elapsed.  smtp-source has no
# "M per connection" mode and no time limit, so it is the cross-check: at
# 20:1 and 100:1 it sends to every server as many messages as loadgen's
# median did in the same time (smtp-source -s S -m N -l 2048, timed with
# the wall clock).  Each load runs REPS times (default 3) per server,
# interleaved (sink, postfix, relaytrapd, sink, ...); the table shows
# medians.  After every run the stored messages are counted (Postfix hold
# queue, relaytrapd spool) and must equal the number accepted; a run with
# any failure is flagged in the table.  relaytrapd starts on an empty spool
# for every run; the Postfix hold queue is emptied before every run.
#
# Memory: 5,000 and 10,000 idle sessions (connect, banner, EHLO, hold)
# against a fresh relaytrapd and a fresh smtp-sink; sum of Pss and Rss from
# /proc/PID/smaps_rollup over the server's processes.
#
# Only 127.0.0.1.  Needs root (Postfix instance, smtp-sink -u, ulimit).
set -u

QUICK=0
REPS=
DO_MEM=1
DO_TP=1
FRESH_FS=1
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--reps) REPS=$2; shift ;;
	--no-memory) DO_MEM=0 ;;
	--no-throughput) DO_TP=0 ;;
	--root-fs) FRESH_FS=0 ;;
	*) echo "usage: $0 [--quick] [--reps N] [--no-memory] [--no-throughput]" >&2
	   exit 2 ;;
	esac
	shift
done

# --quick: 1 s per run and one repetition (unless --reps)
[ -n "$REPS" ] || { [ $QUICK = 1 ] && REPS=1 || REPS=3; }

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
WORK=${BENCH_WORK:-/var/tmp/rt-bench}
RELAYTRAPD=${RELAYTRAPD:-./relaytrapd}
SINK_ADDR=127.0.0.1:2602
SINK_MEM_ADDR=127.0.0.1:2603
export PF_DIR=$WORK/postfix
export PF_ADDR=127.0.0.1:2601
LOADS="1:1 20:1 100:1 1:10 20:10 100:10"
SIZE=2048

# milliseconds per run
if [ $QUICK = 1 ]; then
	DUR=1000; MEM_SIZES="5000 10000"
else
	DUR=3000; MEM_SIZES="5000 10000"
fi

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: needs root" >&2
	exit 2
fi
# one fd per session in the server and in the client
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" -lt 10100 ]; then
	echo "run.sh: ulimit -n is $(ulimit -n), need > 10100" >&2
	exit 2
fi

HAVE_RT=1
case $RELAYTRAPD in
/*) ;;
*) RELAYTRAPD=$PWD/$RELAYTRAPD ;;
esac
if [ ! -x "$RELAYTRAPD" ]; then
	echo "run.sh: no relaytrapd at $RELAYTRAPD: its columns will say n/a" >&2
	HAVE_RT=0
fi

mkdir -p "$WORK"
FS_IMG=
if [ $FRESH_FS = 1 ]; then
	FS_IMG=$WORK.img
	umount "$WORK" 2>/dev/null
	rm -f "$FS_IMG"
	if truncate -s 16G "$FS_IMG" && mkfs.ext4 -q -F -N 8000000 "$FS_IMG" &&
	    mount -o loop "$FS_IMG" "$WORK"; then
		chmod 755 "$WORK"
		echo "# work directory: fresh ext4 on $FS_IMG mounted at $WORK"
	else
		echo "run.sh: cannot make a fresh file system; use --root-fs" >&2
		exit 1
	fi
fi
LOADGEN=$WORK/loadgen
cc -O2 -Wall -o "$LOADGEN" "$BENCH_DIR/loadgen.c" || exit 1
RESULTS=$WORK/results.tsv
: > "$RESULTS"
LOG=$WORK/run.log
: > "$LOG"

SINK_PID=
RT_PID=
RT_PORT=
MEM_PID=
cleanup() {
	[ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
	[ -n "$MEM_PID" ] && kill "$MEM_PID" 2>/dev/null
	[ -n "$RT_PID" ] && rt_stop
	"$BENCH_DIR/postfix-hold.sh" stop >/dev/null 2>&1
	if [ -n "$FS_IMG" ]; then
		umount "$WORK" 2>/dev/null && rm -f "$FS_IMG"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }

# wait_for FILE REGEX SECONDS: wait until FILE has a line matching REGEX
wait_for() {
	local i=0 max=$(($3 * 10))
	while ! grep -q -E "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $max ] && return 1
		sleep 0.1
	done
	return 0
}

# wait_port ADDR SECONDS: wait until ADDR accepts connections
wait_port() {
	python3 - "$1" "$2" <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}

# mem PID: "pss_kb rss_kb nprocs" summed over PID and its descendants
mem() {
	python3 - "$1" <<'EOF'
import os, sys
root = int(sys.argv[1])
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
        except (OSError, IndexError, ValueError):
            pass
todo, pids = [root], []
while todo:
    p = todo.pop()
    pids.append(p)
    todo.extend(kids.get(p, []))
pss = rss = 0
for p in pids:
    try:
        with open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                k, v = line.split(":", 1)
                if k == "Pss":
                    pss += int(v.split()[0])
                elif k == "Rss":
                    rss += int(v.split()[0])
    except OSError:
        pass
print(pss, rss, len(pids))
EOF
}

# ---- servers ----

sink_start() {	# sink_start ADDR
	smtp-sink -u nobody -m 20000 -t 600 "$1" 4096 >/dev/null \
	    2>>"$WORK/sink.err" &
	SINK_PID=$!
	wait_port "$1" 20 || { echo "run.sh: smtp-sink did not start" >&2; exit 1; }
}

sink_stop() {
	kill "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
	SINK_PID=
}

RT_RUN=0
rt_start() {
	# a new spool per run; nothing is deleted until the end, so no run
	# pays for the inodes the previous one freed
	RT_RUN=$((RT_RUN + 1))
	RT_SPOOL=$WORK/rt-spool.$RT_RUN
	local spool=$RT_SPOOL
	rm -f "$WORK/rt.out"
	mkdir -p "$spool"
	"$RELAYTRAPD" -f -c /dev/null -l 127.0.0.1:0 -s "$spool" \
	    -o 'user = nobody' -o 'max_sessions = 20000' \
	    -o 'max_sessions_per_ip = 20000' -o 'resolver = {"127.0.0.1:1"}' \
	    >"$WORK/rt.out" 2>>"$WORK/rt.err" &
	RT_PID=$!
	if ! wait_for "$WORK/rt.out" '^listening ' 30; then
		echo "run.sh: relaytrapd did not start; see $WORK/rt.err" >&2
		tail -5 "$WORK/rt.err" >&2
		exit 1
	fi
	RT_PORT=$(sed -n 's/^listening 127\.0\.0\.1://p' "$WORK/rt.out")
}

rt_stop() {
	local i=0
	kill -TERM "$RT_PID" 2>/dev/null
	while kill -0 "$RT_PID" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$RT_PID" 2>/dev/null; then
		echo "run.sh: relaytrapd $RT_PID ignored SIGTERM for 30 s" >&2
		kill -KILL "$RT_PID" 2>/dev/null
	fi
	wait "$RT_PID" 2>/dev/null
	RT_PID=
}

# after rt_stop: a running worker moves entries from new/ to cur/ while
# find walks them, and an entry would be counted twice
rt_count() {
	find "$RT_SPOOL/new" "$RT_SPOOL/cur" -name message \
	    -type f 2>/dev/null | wc -l
}

# ---- one measurement ----

# drive TOOL ADDR S M N: sets RATE P50 P99 SENT OK (1 = no failure)
# loadgen runs for $DUR ms (N unused), smtp-source sends N messages.
drive() {
	local tool=$1 addr=$2 s=$3 m=$4 n=$5 t0 t1 out rc
	P50=-; P99=-; SENT=$n
	if [ "$tool" = smtp-source ]; then
		t0=$(now)
		smtp-source -s "$s" -m "$n" -l "$SIZE" -M bench.example.test \
		    "$addr" >>"$LOG" 2>&1
		rc=$?
		t1=$(now)
		RATE=$(echo "$n $t0 $t1" | awk '{ printf "%.0f", $1 / ($3 - $2) }')
	else
		out=$("$LOADGEN" -s "$s" -m "$m" -d "$DUR" -l "$SIZE" -t 300 \
		    "$addr" 2>>"$LOG")
		rc=$?
		echo "$out" >>"$LOG"
		RATE=$(echo "$out" | sed -n 's/.* rate=\([0-9.]*\).*/\1/p' |
		    awk '{ printf "%.0f", $1 }')
		P50=$(echo "$out" | sed -n 's/.* p50_ms=\([0-9.]*\).*/\1/p')
		P99=$(echo "$out" | sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p')
		SENT=$(echo "$out" | sed -n 's/.* ok=\([0-9]*\).*/\1/p')
		[ -n "$SENT" ] || SENT=0
	fi
	OK=1
	[ $rc = 0 ] || OK=0
	[ -n "$RATE" ] || { RATE=0; OK=0; }
}

# measure SERVER LOAD REP TOOL [N]: one run, appended to $RESULTS
measure() {
	local server=$1 load=$2 rep=$3 tool=$4 n=${5:-0} s m addr stored=-
	s=${load%:*}
	m=${load#*:}
	case $server in
	smtp-sink) addr=$SINK_ADDR ;;
	postfix) addr=$PF_ADDR
		"$BENCH_DIR/postfix-hold.sh" empty ;;
	relaytrapd) rt_start; addr=127.0.0.1:$RT_PORT ;;
	esac
	echo "== $server $load rep $rep $tool n=$n" >>"$LOG"
	drive "$tool" "$addr" "$s" "$m" "$n"
	case $server in
	postfix) stored=$("$BENCH_DIR/postfix-hold.sh" count) ;;
	relaytrapd) rt_stop; stored=$(rt_count) ;;
	esac
	if [ "$stored" != - ] && [ "$stored" -ne "$SENT" ]; then
		echo "run.sh: $server $load rep $rep: $stored stored, $SENT accepted" >&2
		OK=0
	fi
	[ $OK = 1 ] || echo "run.sh: $server $load rep $rep: FAILED (see $LOG)" >&2
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$load" \
	    "$rep" "$tool" "$RATE" "$P50" "$P99" "$OK" "$stored" >>"$RESULTS"
	printf '  %-10s %-6s rep %s %-11s %6s msg/s  p50 %s p99 %s ms%s\n' \
	    "$server" "$load" "$rep" "$tool" "$RATE" "$P50" "$P99" \
	    "$([ $OK = 1 ] || echo '  FAILED')"
}

SERVERS="smtp-sink postfix"
[ $HAVE_RT = 1 ] && SERVERS="$SERVERS relaytrapd"

echo "relaytrap bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "$(uname -sr), quick=$QUICK reps=$REPS"
echo "relaytrapd: $([ $HAVE_RT = 1 ] && echo "$RELAYTRAPD" || echo missing)"
echo "loads (sessions:messages per connection), $SIZE-byte payload," \
    "$DUR ms per run"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(the figures are only comparable on an otherwise idle machine)"
T_START=$(date +%s)

if [ $DO_TP = 1 ]; then
	sink_start "$SINK_ADDR"
	"$BENCH_DIR/postfix-hold.sh" start || exit 1
	for load in $LOADS; do
		for rep in $(seq 1 "$REPS"); do
			for server in $SERVERS; do
				measure "$server" "$load" "$rep" loadgen
			done
		done
	done
	# cross-check with smtp-source: as many messages as loadgen's median
	for load in 20:1 100:1; do
		for server in $SERVERS; do
			n=$(awk -F'\t' -v s="$server" -v l="$load" \
			    '$1 == s && $2 == l && $3 != "x" { print $5 }' \
			    "$RESULTS" | sort -n | awk -v d="$DUR" '
			    { v[NR] = $1 }
			    END { n = int(v[int((NR + 1) / 2)] * d / 1000);
				  print (n < 100 ? 100 : n) }')
			measure "$server" "$load" x smtp-source "$n"
		done
	done
	"$BENCH_DIR/postfix-hold.sh" empty
	"$BENCH_DIR/postfix-hold.sh" stop
	sink_stop

	echo
	echo "Throughput, messages/s, median of $REPS (p50/p99 latency in ms from loadgen loads)"
	python3 - "$RESULTS" "$HAVE_RT" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
have_rt = sys.argv[2] == "1"
loads = ["1:1", "20:1", "100:1", "1:10", "20:10", "100:10"]
servers = ["smtp-sink", "postfix", "relaytrapd"]
def med(server, load, field=4):
    v = [float(r[field]) for r in rows
         if r[0] == server and r[1] == load and r[2] != "x"
         and r[field] not in ("-", "")]
    return statistics.median(v) if v else None
def failed(server, load):
    return any(r[7] != "1" for r in rows
               if r[0] == server and r[1] == load and r[2] != "x")
def cell(server, load):
    v = med(server, load)
    if v is None:
        return "n/a"
    s = f"{v:,.0f}"
    if failed(server, load):
        s += " FAILED"
    p50, p99 = med(server, load, 5), med(server, load, 6)
    if p50 is not None:
        s += f" ({p50:.2f}/{p99:.2f})"
    return s
print("| load | smtp-sink | Postfix hold | relaytrapd | rt/Postfix (>= 4) | rt/sink (>= 0.60) | targets |")
print("|---|---|---|---|---|---|---|")
allmet = True
for load in loads:
    sink, pf, rt = (med(s, load) for s in servers)
    if have_rt and rt is not None and pf and sink:
        r1, r2 = rt / pf, rt / sink
        met = r1 >= 4 and r2 >= 0.6 and not failed("relaytrapd", load)
        allmet &= met
        ratios = f"{r1:.2f} | {r2:.2f} | {'met' if met else 'MISSED'}"
    else:
        ratios = "n/a | n/a | n/a"
        allmet = False
    print(f"| {load} | {cell('smtp-sink', load)} | {cell('postfix', load)} | {cell('relaytrapd', load)} | {ratios} |")
print()
print("throughput targets (>= 4x Postfix and >= 60% of smtp-sink at every load):",
      "met" if allmet else "NOT met")
x = [r for r in rows if r[2] == "x"]
if x:
    print()
    print("Cross-check, messages/s: smtp-source (one run) vs loadgen (median)")
    print("| load | server | smtp-source | loadgen | smtp-source / loadgen |")
    print("|---|---|---|---|---|")
    for r in x:
        lg = med(r[0], r[1])
        sm = float(r[4])
        print(f"| {r[1]} | {r[0]} | {sm:,.0f}{'' if r[7] == '1' else ' FAILED'}"
              f" | {lg:,.0f} | {sm / lg if lg else 0:.2f} |")
EOF
fi

if [ $DO_MEM = 1 ]; then
	echo
	echo "Memory with idle sessions (connect, banner, EHLO, hold); KB, all processes"
	MEMRES=$WORK/memory.tsv
	: > "$MEMRES"
	mem_servers="smtp-sink"
	[ $HAVE_RT = 1 ] && mem_servers="relaytrapd smtp-sink"
	for server in $mem_servers; do
		for n in $MEM_SIZES; do
			if [ $server = relaytrapd ]; then
				rt_start
				pid=$RT_PID; addr=127.0.0.1:$RT_PORT
			else
				sink_start "$SINK_MEM_ADDR"
				pid=$SINK_PID; addr=$SINK_MEM_ADDR
			fi
			read -r pss0 rss0 np0 <<<"$(mem "$pid")"
			"$LOADGEN" -i -s "$n" -C 100 -t 60 "$addr" \
			    >"$WORK/idle.out" 2>>"$LOG" &
			MEM_PID=$!
			if ! wait_for "$WORK/idle.out" "^idle " 90; then
				echo "run.sh: $server: $n idle sessions not established" >&2
			fi
			idle=$(cat "$WORK/idle.out")
			read -r pss rss np <<<"$(mem "$pid")"
			kill -TERM "$MEM_PID" 2>/dev/null
			wait "$MEM_PID" 2>/dev/null
			MEM_PID=
			if [ $server = relaytrapd ]; then rt_stop; else sink_stop; fi
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$n" \
			    "$pss0" "$rss0" "$pss" "$rss" "$np" "$idle" >>"$MEMRES"
		done
	done
	python3 - "$MEMRES" <<'EOF'
import sys
print("| server | idle sessions | established | processes | Pss total | Rss total | Pss before | Pss per session | 10,000 under 64 MB |")
print("|---|---|---|---|---|---|---|---|---|")
for l in open(sys.argv[1]):
    srv, n, pss0, rss0, pss, rss, np, idle = l.rstrip("\n").split("\t")
    n, pss0, pss, rss = int(n), int(pss0), int(pss), int(rss)
    est = idle.split()[1].split("=")[1] if idle.startswith("idle ") else "?"
    per = (pss - pss0) / n
    tgt = "-"
    if srv == "relaytrapd" and n == 10000:
        tgt = "met" if pss < 64 * 1024 and rss < 64 * 1024 and est == str(n) else "MISSED"
    print(f"| {srv} | {n:,} | {est} | {np} | {pss/1024:,.1f} MB | {rss/1024:,.1f} MB | {pss0/1024:,.1f} MB | {per:,.1f} KB | {tgt} |")
EOF
fi
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg);" \
    "runtime: $(( $(date +%s) - T_START )) s; raw results in $WORK"
