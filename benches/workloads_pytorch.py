#!/usr/bin/env python3
"""PyTorch side of `convkit bench`: the workloads of shared/bench/WORKLOADS.md (W1 LeNet-5, W2
ResNet-18 with the CIFAR stem, W3 torchvision's ResNet-18, W4 one conv, W5 SGEMM), resnet20-train and
airbench94-train,
measured as convkit measures them (a warm-up, then `--reps` repetitions of at least `--min-time`
seconds; median, min, max), with the same labels. Eager mode, best of NCHW and channels_last by
default (each workload runs in both memory formats; the `pytorch` line is the better median, the
`pytorch-nchw` / `pytorch-cl` lines are each format's own).

Training workloads also print `<label>-rss`: the process's peak resident memory (VmHWM) while that
workload ran, reset before it through /proc/self/clear_refs. Run one workload per process for a
figure comparable with convkit's (benches/compare.py does).

    OMP_NUM_THREADS=2 python benches/workloads_pytorch.py --workloads W2-train,W2-infer [--format best]
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet20_pytorch import resnet20  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from gen_airbench import network as airbench  # noqa: E402

ALL = ["W1-train", "W1-infer", "W2-train", "W2-infer", "W3-b1", "W3-b16", "W4", "W4-fwd", "W5",
       "resnet20-train", "airbench94-train"]


def measure(fn, min_time, reps):
    """Seconds per call, one figure per repetition, after up to a second of warm-up."""
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < min(1.0, min_time):
        fn()
    out = []
    for _ in range(reps):
        calls, start = 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - start < min_time:
            fn()
            calls += 1
        out.append((time.perf_counter() - start) / calls)
    return out


class LeNet(nn.Module):
    """convkit's lenet5: conv 1→20 k5 p2, ReLU, max-pool, conv 20→50 k5 p2, ReLU, max-pool,
    linear 2450→500, ReLU, linear 500→10."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, padding=2)
        self.conv2 = nn.Conv2d(20, 50, 5, padding=2)
        self.fc1 = nn.Linear(2450, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def resnet18_cifar():
    """convkit's resnet18-cifar: torchvision's resnet18 with a 3x3 stride-1 stem, no max-pool."""
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = nn.Identity()
    return model


def train_step(model, x, y, lr, weight_decay=0.0, momentum=0.9, nesterov=False):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                          nesterov=nesterov)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def infer(model, x):
    model.eval()

    def step():
        with torch.inference_mode():
            model(x)
    return step


def conv_w4(x, w, go, backward):
    def step():
        if not backward:
            with torch.inference_mode():
                F.conv2d(x, w, padding=1)
            return
        x.grad, w.grad = None, None
        F.conv2d(x, w, padding=1).backward(go)
    return step


def workload(label, mf, g):
    """(step function, items per call, unit) of a workload in memory format `mf`."""
    def images(*shape):
        return torch.randn(*shape, generator=g).to(memory_format=mf)

    def labels(n):
        return torch.randint(0, 10, (n,), generator=g)

    if label == "W1-train":
        return train_step(LeNet().to(memory_format=mf), images(64, 1, 28, 28), labels(64), 0.01), 64, "img/s"
    if label == "W1-infer":
        return infer(LeNet().to(memory_format=mf), images(256, 1, 28, 28)), 256, "img/s"
    if label == "W2-train":
        return train_step(resnet18_cifar().to(memory_format=mf), images(64, 3, 32, 32), labels(64), 0.01), 64, "img/s"
    if label == "W2-infer":
        return infer(resnet18_cifar().to(memory_format=mf), images(64, 3, 32, 32)), 64, "img/s"
    if label in ("W3-b1", "W3-b16"):
        batch = 1 if label == "W3-b1" else 16
        model = torchvision.models.resnet18().to(memory_format=mf)
        return infer(model, images(batch, 3, 224, 224)), batch, ("ms" if batch == 1 else "img/s")
    if label == "resnet20-train":
        return train_step(resnet20().to(memory_format=mf), images(128, 3, 32, 32), labels(128), 0.1, 5e-4), 128, "img/s"
    if label == "airbench94-train":
        model = airbench((64, 256, 256)).to(memory_format=mf)
        step = train_step(model, images(512, 3, 32, 32), labels(512), 0.01, momentum=0.85, nesterov=True)
        return step, 512, "img/s"
    if label in ("W4", "W4-fwd"):
        n, c, h = 32, 64, 56
        x = images(n, c, h, h).requires_grad_()
        w = torch.randn(c, c, 3, 3, generator=g).to(memory_format=mf).requires_grad_()
        go = images(n, c, h, h)
        backward = label == "W4"
        gflop = (3 if backward else 1) * 2 * n * c * h * h * c * 9 / 1e9
        return conv_w4(x, w, go, backward), gflop, "GFLOP/s"
    raise ValueError(label)


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


def line(column, label, values, unit):
    print(f"RESULT {column} {label} {statistics.median(values):.4f} {min(values):.4f} "
          f"{max(values):.4f} {unit}", flush=True)


def run(label, formats, args):
    """Measures `label` in every format; prints each format's line and the best as `pytorch`."""
    best = None
    for name, mf in formats:
        g = torch.Generator().manual_seed(0)
        was_reset = reset_peak_rss()
        step, items, unit = workload(label, mf, g)
        secs = measure(step, args.min_time, args.reps)
        values = [s * 1e3 for s in secs] if unit == "ms" else [items / s for s in secs]
        line(f"pytorch-{name}", label, values, unit)
        better = (lambda a, b: a < b) if unit == "ms" else (lambda a, b: a > b)
        if best is None or better(statistics.median(values), statistics.median(best[0])):
            best = (values, unit)
        if label.endswith("-train") and len(formats) == 1:
            mib = peak_rss_mib()
            if not was_reset:
                print(f"# {label}-rss: /proc/self/clear_refs refused, the peak covers the process")
            if mib is not None:
                print(f"RESULT pytorch {label}-rss {mib:.1f} {mib:.1f} {mib:.1f} MiB", flush=True)
    line("pytorch", label, *best)


def sgemm(args):
    g = torch.Generator().manual_seed(0)
    for n in (1024, 2048):
        a, b, c = (torch.randn(n, n, generator=g) for _ in range(3))
        secs = measure(lambda: torch.mm(a, b, out=c), args.min_time, args.reps)
        line("pytorch", f"W5-{n}", [2 * n ** 3 / 1e9 / s for s in secs], "GFLOP/s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default=",".join(ALL), help="comma-separated labels: " + ", ".join(ALL))
    ap.add_argument("--format", choices=["best", "nchw", "cl"], default="best",
                    help="memory format (best: both, the better median reported as `pytorch`)")
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    formats = [("nchw", torch.contiguous_format), ("cl", torch.channels_last)]
    if args.format != "best":
        formats = [f for f in formats if f[0] == args.format]
    print(f"# torch {torch.__version__} threads={torch.get_num_threads()}", flush=True)
    for label in args.workloads.split(","):
        if label == "W5":
            sgemm(args)
        elif label in ALL:
            run(label, formats, args)
        else:
            sys.exit(f"unknown workload {label!r}; known: {', '.join(ALL)}")


if __name__ == "__main__":
    main()
