#!/bin/sh
# tests/fuzz/run.sh [SECONDS] -- build the libFuzzer targets in a separate
# build directory (clang, ASan+UBSan) and run each for SECONDS (default
# 30) from its seed corpus in tests/fuzz/corpus/<target>/. Prints one line
# per target; exits non-zero if any target crashed or did not build.
# RT_FUZZ_BUILD overrides the build directory.
set -u

secs=${1:-30}
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
build=${RT_FUZZ_BUILD:-${TMPDIR:-/tmp}/relaytrap-fuzz-build}
targets="smtp_cmd smtp_addr proxy smtp_data smtp_auth received urls dns_answer
    message smtp_bdat"

if [ ! -x "$srcdir/configure" ]; then
	(cd "$srcdir" && ./autogen.sh) >/dev/null 2>&1 || {
		echo "fuzz: autogen.sh failed in $srcdir"; exit 2; }
fi
mkdir -p "$build" || exit 2
cd "$build" || exit 2
if [ ! -f Makefile ]; then
	CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
	    LDFLAGS="-fsanitize=address,undefined" \
	    "$srcdir/configure" -q --enable-fuzzing >configure.log 2>&1 || {
		echo "fuzz: configure failed, see $build/configure.log"
		exit 2
	}
fi
progs=
for t in $targets; do
	progs="$progs tests/fuzz/fuzz_$t"
done
# shellcheck disable=SC2086
make -j2 $progs >make.log 2>&1 || {
	echo "fuzz: build failed, see $build/make.log"; exit 2; }

# UBSan findings must stop the run like ASan ones
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS ASAN_OPTIONS

failed=0
for t in $targets; do
	work="$build/corpus/$t"
	log="$build/fuzz_$t.log"
	mkdir -p "$work"
	"./tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$build/crash-$t-" \
	    "$work" "$here/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	if [ "$rc" -eq 0 ]; then
		echo "fuzz_$t: ok, ${runs:-?} runs in ${secs}s"
	else
		echo "fuzz_$t: FAILED (exit $rc), log $log, artifacts $build/crash-$t-*"
		failed=1
	fi
done
exit $failed
