#!/usr/bin/env bash
# Runs every fuzz target in turn for SECONDS each (default 600) with a 2 GiB memory limit and a
# 30 s timeout per input, starting from the committed seeds/<target> and growing corpus/<target>.
# Each target's libFuzzer output goes to logs/<target>.log; the summary lines (executions, time,
# coverage, crashes) are printed at the end. Crashes land in artifacts/<target>/.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -u
cd "$(dirname "$0")"
seconds=${1:-600}
targets=(idx cifar image checkpoint pth train_config)
cargo +nightly fuzz build -O || exit 1
mkdir -p logs
status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    cargo +nightly fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 \
        -artifact_prefix="artifacts/$target/" -print_final_stats=1 \
        >"logs/$target.log" 2>&1 || status=1
done
for target in "${targets[@]}"; do
    log="logs/$target.log"
    last=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -n 1)
    crashes=$(find "artifacts/$target" -type f | wc -l)
    echo "$target: $last | artifacts: $crashes"
done
exit $status
