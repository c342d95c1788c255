# Shared settings of the experiment scripts (sourced, not run): the convkit binary, the data, and
# where runs and pictures go. Override any of them from the environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CONVKIT=${CONVKIT:-target/release/convkit}
CIFAR=${CIFAR:-../shared/datasets/cifar-10/jpeg-derived}
OUT=${OUT:-runs/course}
PICTURES=${PICTURES:-docs/course}
[ -x "$CONVKIT" ] || cargo build --release -p convkit
mkdir -p "$OUT" "$PICTURES"

# run SUBCOMMAND NAME ARGS...: one `convkit SUBCOMMAND` run (train, finetune) in $OUT/NAME (a fresh
# folder: an old one is moved aside, never overwritten), its wall time printed.
run() {
    local command=$1 name=$2
    shift 2
    if [ -e "$OUT/$name" ]; then mv "$OUT/$name" "$OUT/$name.old-$(date +%s)"; fi
    local start=$SECONDS
    "$CONVKIT" "$command" --out-dir "$OUT/$name" "$@" || echo "($name stopped with an error, see above)"
    echo "$name: $((SECONDS - start)) s"
}

# train NAME ARGS...: `run train`.
train() {
    run train "$@"
}

# run_dir NAME: the run folder convkit made inside $OUT/NAME.
run_dir() {
    dirname "$(ls "$OUT/$1"/*/metrics.csv | head -n 1)"
}
