#!/bin/sh
# Replay the fuzzers' committed inputs (fuzz/corpus/NAME, the seeds, and
# fuzz/regressions/NAME, inputs that once crashed) through each harness
# linked without libFuzzer (fuzz/replay_NAME): a bug the fuzzers found and
# that was fixed must stay fixed, in every build, and under ASan and UBSan
# in the sanitizer build.  One TAP case per harness and directory.

set -u

srcdir=${INFERD_SRCDIR:-.}
builddir=${INFERD_BUILDDIR:-.}
harnesses="delay predict oip config model http xgbbin"
failed=0
n=0

# ASan's leak check is on by default; make a leak a failure that says so.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

# Two cases (corpus, regressions) per harness.
set -- $harnesses
echo "1..$(($# * 2))"
for h in $harnesses; do
	for kind in corpus regressions; do
		n=$((n + 1))
		dir=$srcdir/fuzz/$kind/$h
		desc="fuzz/replay_$h over fuzz/$kind/$h"
		if [ ! -d "$dir" ] || [ -z "$(ls "$dir")" ]; then
			echo "ok $n - $desc # SKIP no inputs"
			continue
		fi
		count=$(ls "$dir" | wc -l)
		if out=$("$builddir/fuzz/replay_$h" "$dir" 2>&1); then
			echo "ok $n - $desc ($count inputs)"
		else
			echo "not ok $n - $desc"
			echo "$out" | tail -40 | sed 's/^/# /'
			failed=1
		fi
	done
done
exit $failed
