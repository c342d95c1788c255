#!/usr/bin/env bash
# Data-parallel throughput of ResNet-20 on CIFAR-10 (2,560 training images, the CIFAR recipe's
# global batch of 128, no test evaluation): 1 process × 2 threads, 2 ranks × 1 thread, 4 ranks × 1
# thread, and 2 ranks in two network namespaces talking TCP over a veth pair; then the gradient
# all-reduce alone. Needs a build with MPI (and its all-reduce example), root for the namespaces:
#   cargo build --release -p convkit --features mpi
#   cargo build --release -p convkit-distributed --features mpi --example allreduce_bench
#   sudo benches/mpi_throughput.sh CIFAR10_DIR
set -euo pipefail
data=$(realpath "${1:?usage: mpi_throughput.sh CIFAR10_DIR}")
root=$(realpath "$(dirname "$0")/..")
bin=$root/target/release/convkit
bench=$root/target/release/examples/allreduce_bench
work=$(mktemp -d)
cd "$work"
printf 'evaluate_test = false\n' > train-only.toml
args=(train --config train-only.toml --model resnet20 --dataset cifar10 --data-dir "$data" --train-limit 2560)

# Two "hosts": namespaces mpibench0/1 at 10.232.0.1/.2, and an ssh stand-in for MPICH's launcher.
ip netns add mpibench0 && ip netns add mpibench1
trap 'ip netns del mpibench0; ip netns del mpibench1; rm -rf "$work"' EXIT
ip link add mpibv0 type veth peer name mpibv1
for k in 0 1; do
    ip link set mpibv$k netns mpibench$k
    ip -n mpibench$k addr add 10.232.0.$((k + 1))/24 dev mpibv$k
    ip -n mpibench$k link set mpibv$k up
    ip -n mpibench$k link set lo up
done
cat > launch <<'SCRIPT'
#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in 10.232.0.1) ns=mpibench0; shift; break;; 10.232.0.2) ns=mpibench1; shift; break;; *) shift;; esac; done
exec ip netns exec "$ns" sh -c "$*"
SCRIPT
chmod +x launch
two_hosts() {
    MPIR_CVAR_NOLOCAL=1 UCX_TLS=tcp ip netns exec mpibench0 mpiexec -launcher ssh \
        -launcher-exec "$work/launch" -hosts 10.232.0.1,10.232.0.2 -n 2 "$@"
}
report() { grep "epoch 1/1\|all-reduce" || true; }

echo "load: $(uptime)"
echo "== 1 process x 2 threads"; "$bin" --threads 2 "${args[@]}" --out-dir p1 2>/dev/null | report
echo "== 2 ranks x 1 thread"; mpiexec -n 2 "$bin" --threads 1 "${args[@]}" --out-dir p2 2>/dev/null | report
echo "== 4 ranks x 1 thread"; mpiexec -n 4 "$bin" --threads 1 "${args[@]}" --out-dir p4 2>/dev/null | report
echo "== 2 namespaces x 1 thread"; two_hosts "$bin" --threads 1 "${args[@]}" --out-dir pn 2>/dev/null | report
echo "== all-reduce alone, 2 ranks"; mpiexec -n 2 "$bench"
echo "== all-reduce alone, 4 ranks"; mpiexec -n 4 "$bench"
echo "== all-reduce alone, 2 namespaces"; two_hosts "$bench"
echo "load: $(uptime)"
