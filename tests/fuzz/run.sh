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
# A build directory is reused only for the source tree it was configured
# for: one left behind by another checkout (a removed CI clone, say) names
# that tree's files and cannot build this one.
wipe() {	# empty $build, but only if it is a relaytrap build directory
	if [ -f "$build/config.status" ] &&
	    grep -q relaytrap "$build/config.status" 2>/dev/null; then
		rm -rf "$build" && mkdir -p "$build" && return 0
	fi
	echo "fuzz: $build holds something other than a relaytrap build;" \
	    "remove it or set RT_FUZZ_BUILD"
	exit 2
}

configure_fuzz() {
	CC=clang CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined" \
	    LDFLAGS="-fsanitize=address,undefined" \
	    "$srcdir/configure" -q --enable-fuzzing >configure.log 2>&1 || {
		echo "fuzz: configure failed, see $build/configure.log"
		tail -n 20 configure.log
		exit 2
	}
}

progs=
for t in $targets; do
	progs="$progs tests/fuzz/fuzz_$t"
done

build_fuzz() {
	# shellcheck disable=SC2086
	make -j2 $progs >make.log 2>&1
}

mkdir -p "$build" || exit 2
if [ -f "$build/Makefile" ]; then
	was=$(sed -n 's/^abs_srcdir = //p' "$build/Makefile" | head -n 1)
	if [ "$was" != "$srcdir" ]; then
		echo "fuzz: $build was configured for ${was:-another tree};" \
		    "building afresh"
		wipe
	fi
fi
cd "$build" || exit 2
fresh=0
if [ ! -f Makefile ]; then
	configure_fuzz
	fresh=1
fi
built=0
build_fuzz && built=1
if [ "$built" = 0 ] && [ "$fresh" = 0 ]; then
	echo "fuzz: the reused build in $build failed; building afresh"
	cd / && wipe && cd "$build" && configure_fuzz && build_fuzz && built=1
fi
if [ "$built" = 0 ]; then
	echo "fuzz: build failed, see $build/make.log"
	tail -n 30 make.log 2>/dev/null
	exit 2
fi

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
