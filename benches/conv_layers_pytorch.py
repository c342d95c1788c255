"""PyTorch side of convkit's conv-dw3x3 / conv-pw1x1 bench workloads (same shapes, same counting).
OMP_NUM_THREADS=2 python benches/conv_layers_pytorch.py"""
import statistics, time, torch, torch.nn.functional as F
torch.set_num_threads(2)
g = torch.Generator().manual_seed(0)

def measure(fn, min_time=2.0, reps=3):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        fn()
    out = []
    for _ in range(reps):
        n, t0 = 0, time.perf_counter()
        while True:
            fn(); n += 1
            el = time.perf_counter() - t0
            if el >= min_time:
                break
        out.append(el / n)
    return out

for name, cout, k, groups in [("conv-dw3x3", 64, 3, 64), ("conv-pw1x1", 128, 1, 1)]:
    x = torch.randn(32, 64, 56, 56, generator=g).requires_grad_()
    w = torch.randn(cout, 64 // groups, k, k, generator=g).requires_grad_()
    b = torch.randn(cout, generator=g).requires_grad_()
    go = torch.randn(32, cout, 56, 56, generator=g)
    flop = 2 * 32 * cout * 56 * 56 * (64 // groups) * k * k
    def fwd():
        with torch.inference_mode():
            F.conv2d(x, w, b, padding=k // 2, groups=groups)
    def step():
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, padding=k // 2, groups=groups).backward(go)
    for label, fn, passes in [(name + "-fwd", fwd, 1), (name, step, 3)]:
        rates = sorted(flop * passes / 1e9 / s for s in measure(fn))
        print(f"RESULT pytorch {label} {statistics.median(rates):.4g} {rates[0]:.4g} {rates[-1]:.4g} GFLOP/s", flush=True)
