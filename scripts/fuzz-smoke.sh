#!/usr/bin/env bash
# Bounded fuzzing of every target in fuzz/ (the CI smoke step; also the way to run longer
# campaigns locally). Builds all targets once, seeds the corpora from the fixtures, then runs
# each target for FUZZ_SECONDS (default 20), FUZZ_JOBS targets at a time (default 2), with
# libFuzzer's memory and per-input time limits. Any crash, timeout or out-of-memory fails the
# script and prints the reproducer path (fuzz/artifacts/<target>/, gitignored).
#
#   scripts/fuzz-smoke.sh                      # every target, 20 s each
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh store_yaml decrypt
#
# Needs a nightly toolchain (or stable with RUSTC_BOOTSTRAP=1) and cargo-fuzz, which is
# installed when missing. When fuzzing cannot run, it fails if KSOPS_REQUIRE_TOOLS=1 and
# otherwise says so loudly and exits 0, like the tests' tool checks.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
# RSS cap per target, in MiB: the parsers' limits must keep any input far below it.
rss_limit_mb=${FUZZ_RSS_LIMIT_MB:-1024}
# Any single input slower than this (seconds) is a finding.
per_input_timeout=${FUZZ_TIMEOUT:-10}
# No sanitizer by default: the crate forbids unsafe code, so ASan mostly slows the search.
# FUZZ_SANITIZER=address checks the dependencies' unsafe code too.
sanitizer=${FUZZ_SANITIZER:-none}

skip_or_fail() {
    if [ "${KSOPS_REQUIRE_TOOLS:-}" = 1 ]; then
        echo "fuzz-smoke: FAILED: $* (KSOPS_REQUIRE_TOOLS=1)" >&2
        exit 1
    fi
    echo "fuzz-smoke: SKIPPED: $*" >&2
    exit 0
}

# cargo-fuzz drives rustc with unstable flags: use nightly, else stable in bootstrap mode.
if cargo +nightly --version >/dev/null 2>&1; then
    cargo=(cargo +nightly)
elif cargo --version >/dev/null 2>&1; then
    export RUSTC_BOOTSTRAP=1
    cargo=(cargo)
    echo "fuzz-smoke: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1" >&2
else
    skip_or_fail "no cargo"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked --quiet || skip_or_fail "cargo-fuzz could not be installed"
fi

all_targets=$("${cargo[@]}" fuzz list)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets <<<"$all_targets"

started=$SECONDS
"${cargo[@]}" fuzz build --sanitizer "$sanitizer" || skip_or_fail "the fuzz targets do not build"
echo "fuzz-smoke: built ${#targets[@]} targets in $((SECONDS - started)) s"
scripts/fuzz-corpus.sh >/dev/null

# Inputs larger than this are not tried: every limit that matters is reachable well below it
# (billion laughs, deep nesting and huge flattened indices take a few hundred bytes).
max_len() {
    case $1 in
        enc_value | envfile | generator_config) echo 16384 ;;
        *) echo 65536 ;;
    esac
}

# The built binaries are run directly: `cargo fuzz run` would re-check the build every time.
host=$(rustc -vV | sed -n 's/^host: //p')
bin_dir=fuzz/target/$host/release
logs=fuzz/logs
mkdir -p "$logs"
run_one() {
    local target=$1
    mkdir -p "fuzz/artifacts/$target"
    "$bin_dir/$target" "fuzz/corpus/$target" \
        -max_total_time="$seconds" -rss_limit_mb="$rss_limit_mb" -timeout="$per_input_timeout" \
        -max_len="$(max_len "$target")" -print_final_stats=1 \
        -artifact_prefix="fuzz/artifacts/$target/" \
        >"$logs/$target.log" 2>&1
}

failed=()
pids=()
names=()
report() {
    local target=$1 status=$2 runs
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -n 1)
    if [ "$status" = 0 ]; then
        printf 'fuzz-smoke: %-18s ok   %10s runs in %s s\n' "$target" "${runs:-?}" "$seconds"
    else
        printf 'fuzz-smoke: %-18s FAILED (exit %s); reproducer in fuzz/artifacts/%s/\n' \
            "$target" "$status" "$target" >&2
        tail -n 40 "$logs/$target.log" >&2
        failed+=("$target")
    fi
}
wait_first() {
    local status=0
    wait "${pids[0]}" || status=$?
    report "${names[0]}" "$status"
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
}
for target in "${targets[@]}"; do
    [ ${#pids[@]} -lt "$jobs" ] || wait_first
    run_one "$target" &
    pids+=($!)
    names+=("$target")
done
while [ ${#pids[@]} -gt 0 ]; do
    wait_first
done

echo "fuzz-smoke: done in $((SECONDS - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz-smoke: findings in: ${failed[*]}" >&2
    exit 1
fi
