"""PyTorch side of `convkit bench --workloads norm-pool`: the same ops, forward + backward of
sum(y * g) on a 64x64x56x56 batch, timed the same way (warm-up, then repetitions of at least
--min-time seconds; median, min, max iterations/s). Run with OMP_NUM_THREADS=2 for convkit's
2-thread comparison."""
import argparse
import time

import torch
import torch.nn.functional as F

DIMS = (64, 64, 56, 56)


def workloads():
    c = DIMS[1]
    rm, rv = torch.zeros(c), torch.ones(c)
    return [
        ("baseline_loss_only", lambda x, w, b: x),
        ("batch_norm2d", lambda x, w, b: F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=True)),
        ("layer_norm_chw", lambda x, w, b: F.layer_norm(x, DIMS[1:])),
        ("group_norm_g32", lambda x, w, b: F.group_norm(x, 32, w, b)),
        ("instance_norm2d", lambda x, w, b: F.instance_norm(x, weight=w, bias=b)),
        ("lrn_size5", lambda x, w, b: F.local_response_norm(x, 5, 1e-4, 0.75, 2.0)),
        ("max_pool_k3s2p1", lambda x, w, b: F.max_pool2d(x, 3, 2, 1)),
        ("avg_pool_k2s2", lambda x, w, b: F.avg_pool2d(x, 2)),
        ("adaptive_avg_7x7", lambda x, w, b: F.adaptive_avg_pool2d(x, 7)),
        ("adaptive_max_7x7", lambda x, w, b: F.adaptive_max_pool2d(x, 7)),
    ]


def measure(f, min_time, reps):
    start = time.perf_counter()
    while time.perf_counter() - start < min(min_time, 1.0):
        f()
    per_call = []
    for _ in range(max(reps, 1)):
        start, calls = time.perf_counter(), 0
        while calls == 0 or time.perf_counter() - start < min_time:
            f()
            calls += 1
        per_call.append((time.perf_counter() - start) / calls)
    return per_call


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--min-time", type=float, default=3.0)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--only", default="")
    args = p.parse_args()
    torch.manual_seed(4)
    x = torch.randn(DIMS, requires_grad=True)
    w = torch.randn(DIMS[1], requires_grad=True)
    b = torch.randn(DIMS[1], requires_grad=True)
    print("threads:", torch.get_num_threads())
    for name, op in workloads():
        if args.only and args.only not in name:
            continue
        g = torch.randn(op(x, w, b).shape)

        def step():
            for t in (x, w, b):
                t.grad = None
            (op(x, w, b) * g).sum().backward()

        rates = sorted(1.0 / s for s in measure(step, args.min_time, args.reps))
        print(f"RESULT pytorch {name}-fwd-bwd {rates[len(rates) // 2]:.4f} {rates[0]:.4f} {rates[-1]:.4f} it/s")


if __name__ == "__main__":
    main()
