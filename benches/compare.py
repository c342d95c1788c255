#!/usr/bin/env python3
"""convkit against PyTorch eager on the same machine: runs `convkit bench` and
benches/workloads_pytorch.py (NCHW and channels_last) alternately for several rounds, each workload
of each side in a fresh process, then prints per workload the medians over rounds, the ratio to
PyTorch's better memory format with the range of the per-round ratios (the noise), the issue-11
target, and the share of the machine's peak FLOP/s that each side reaches.

The peak comes from ../shared/bench/peak.c (AVX-512 FMA, and AVX2 FMA) where the CPU has AVX-512
and the file is there, else from benches/peak_avx2.c; both are built with gcc -fopenmp.

    python benches/compare.py [--rounds 3] [--workloads W2-train,W2-infer,...] [--min-time 3]
        [--also-unfused] [--peak GFLOPS]

Run it with nothing else busy: on a loaded machine the ratios only say that the script works.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT = "W1-train,W1-infer,W2-train,W2-infer,W3-b1,W3-b16,W4,resnet20-train"
INFER = {"W1-infer", "W2-infer", "W3-b1", "W3-b16"}
# Issue 11's targets: convkit / PyTorch for rates (at least), for W3-b1's latency and for the peak
# RSS (at most).
TARGETS = {
    "W1-train": (">=", 1.3), "W1-infer": (">=", 1.7), "W2-train": (">=", 1.15),
    "W2-infer": (">=", 1.15), "W3-b1": ("<=", 0.85), "W3-b16": (">=", 1.15), "W4": (">=", 1.0),
    "resnet20-train": (">=", 1.3), "W2-train-rss": ("<=", 1.0),
}
RESULT = re.compile(r"^RESULT (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$")


def cpu():
    """(model name, whether the CPU has AVX-512 F)."""
    with open("/proc/cpuinfo") as f:
        text = f.read()
    name = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    return (name.group(1) if name else "unknown"), bool(flags and "avx512f" in flags.group(1).split())


def measure_peak(threads, avx512):
    """The machine's peak FMA GFLOP/s with `threads` threads, and the program that measured it."""
    shared = os.path.join(ROOT, "..", "shared", "bench", "peak.c")
    source = shared if avx512 and os.path.exists(shared) else os.path.join(HERE, "peak_avx2.c")
    binary = os.path.join(tempfile.mkdtemp(), "peak")
    subprocess.run(["gcc", "-O3", "-march=native", "-fopenmp", source, "-o", binary], check=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([binary], env=env, capture_output=True, text=True, check=True).stdout
    peaks = [float(m.group(1)) for m in
             re.finditer(rf"PEAK_FMA\d+_GFLOPS {threads} threads: median (\S+)", out)]
    return max(peaks), os.path.relpath(source, ROOT)


def flops_per_image(python):
    """Forward FLOPs per image (2 × multiply-adds of conv and linear layers) of each model."""
    code = """
import sys, torch, torch.nn as nn
sys.path.insert(0, %r)
import workloads_pytorch as w
from resnet20_pytorch import resnet20
sys.path.insert(0, %r)
from gen_airbench import network as airbench
def count(model, shape):
    macs = [0]
    def hook(m, i, out):
        if isinstance(m, nn.Conv2d):
            macs[0] += out[0].numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        else:
            macs[0] += m.in_features * m.out_features
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        model.eval()(torch.randn(1, *shape))
    return 2 * macs[0]
import torchvision
print("W1", count(w.LeNet(), (1, 28, 28)))
print("W2", count(w.resnet18_cifar(), (3, 32, 32)))
print("W3", count(torchvision.models.resnet18(), (3, 224, 224)))
print("resnet20", count(resnet20(), (3, 32, 32)))
print("airbench94", count(airbench((64, 256, 256)), (3, 32, 32)))
""" % (HERE, os.path.join(ROOT, "tests", "fixtures"))
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines())}


def gflops(label, value, unit, flops):
    """GFLOP/s behind a RESULT figure, or None where the FLOPs are not known."""
    if unit == "GFLOP/s":
        return value
    if unit not in ("img/s", "ms"):
        return None
    model = label.split("-")[0] if label.startswith("W") else label.rsplit("-", 1)[0]
    per_image = flops.get(model)
    if per_image is None:
        return None
    if unit == "ms":  # W3-b1: one image per call
        return per_image / (value / 1e3) / 1e9
    return value * per_image * (3 if label.endswith("-train") else 1) / 1e9


def run(cmd, env):
    """{(column, label): (median, unit)} of the RESULT lines of one process."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    out = {}
    for line in proc.stdout.splitlines():
        m = RESULT.match(line.strip())
        if m:
            column, label, median, _, _, unit = m.groups()
            out[(column, label)] = (float(median), unit)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workloads", default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--convkit", default=os.path.join(ROOT, "target", "release", "convkit"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--also-unfused", action="store_true",
                    help="also time convkit's inference workloads unfused (--unfused)")
    ap.add_argument("--peak", type=float, help="the machine's peak GFLOP/s (skips measuring it)")
    args = ap.parse_args()
    workloads = args.workloads.split(",")
    model, avx512 = cpu()
    if args.peak:
        peak, peak_source = args.peak, "--peak"
    else:
        peak, peak_source = measure_peak(args.threads, avx512)
    flops = flops_per_image(args.python)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    timing = ["--min-time", str(args.min_time), "--reps", str(args.reps)]
    sides = {
        "convkit": lambda w: [args.convkit, "bench", "--workloads", w.lower()] + timing,
        "pytorch-nchw": lambda w: [args.python, os.path.join(HERE, "workloads_pytorch.py"),
                                   "--workloads", w, "--format", "nchw"] + timing,
        "pytorch-cl": lambda w: [args.python, os.path.join(HERE, "workloads_pytorch.py"),
                                 "--workloads", w, "--format", "cl"] + timing,
    }
    if args.also_unfused:
        sides["convkit-unfused"] = lambda w: sides["convkit"](w) + ["--unfused"]
    # rounds[r][(side, label)] = (median, unit)
    rounds = []
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        figures = {}
        for w in workloads:
            for side in order:
                if side == "convkit-unfused" and w not in INFER:
                    continue
                for (column, label), fig in run(sides[side](w), env).items():
                    figures[(side, label.replace("-unfused", ""))] = fig
        rounds.append(figures)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    print(f"CPU: {model}; {args.threads} threads; peak {peak:.1f} GFLOP/s ({peak_source}); "
          f"{args.rounds} rounds, medians over rounds")
    def order(label):
        base = label[:-len("-rss")] if label.endswith("-rss") else label
        index = next((i for i, w in enumerate(workloads) if base == w or base.startswith(w + "-")),
                     len(workloads))
        return index, label
    labels = sorted({label for fig in rounds for (_, label) in fig}, key=order)
    print(f"{'workload':<17}{'convkit':>12}{'pytorch':>12} {'unit':<8}{'ratio':>7} "
          f"{'(rounds)':<14}{'target':<9}{'convkit %pk':>12}{'pytorch %pk':>12}")
    for label in labels:
        lower_better = label == "W3-b1" or label.endswith("-rss")
        best = min if lower_better else max
        ours, theirs, ratios = [], [], []
        unit = None
        for fig in rounds:
            if ("convkit", label) not in fig:
                continue
            value, unit = fig[("convkit", label)]
            torch_values = [fig[(s, label)][0] for s in ("pytorch-nchw", "pytorch-cl")
                            if (s, label) in fig]
            if not torch_values:
                continue
            ours.append(value)
            theirs.append(best(torch_values))
            ratios.append(value / theirs[-1])
        if not ours:
            continue
        a, b = statistics.median(ours), statistics.median(theirs)
        ratio = a / b
        target = TARGETS.get(label)
        verdict = ""
        if target:
            met = ratio >= target[1] if target[0] == ">=" else ratio <= target[1]
            verdict = f"{target[0]}{target[1]} {'ok' if met else 'MISS'}"
        ga, gb = gflops(label, a, unit, flops), gflops(label, b, unit, flops)
        pct = lambda g: f"{100 * g / peak:.0f}%" if g is not None else "-"
        print(f"{label:<17}{a:>12.2f}{b:>12.2f} {unit:<8}{ratio:>7.2f} "
              f"{f'({min(ratios):.2f}-{max(ratios):.2f})':<14}{verdict:<9}{pct(ga):>12}{pct(gb):>12}")
        if args.also_unfused and label in INFER:
            unfused = [fig[("convkit-unfused", label)][0] for fig in rounds
                       if ("convkit-unfused", label) in fig]
            if unfused:
                u = statistics.median(unfused)
                gain = (u / a) if lower_better else (a / u)
                print(f"  {label} unfused: {u:.2f} {unit}; fused gains {gain:.2f}x")


if __name__ == "__main__":
    main()
