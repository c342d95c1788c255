#!/usr/bin/env python3
"""Run Keller Jordan's reference airbench94 on this machine's CPU, on our local CIFAR-10 copy.

Purpose
-------
convkit reimplements airbench94 (the CIFAR-10 speed-run network and training recipe). To compare
our accuracy and wall time with the reference on the same machine and the same (JPEG-degraded)
data, this adapter runs the *unmodified-as-far-as-possible* reference script
`legacy/airbench94.py` from https://github.com/KellerJordan/cifar10-airbench with PyTorch on CPU.

The reference is not copied into this repository (project rule: no pasting of other projects'
code). The adapter reads the original file given with --script, applies the few changes listed
below in memory, and executes it as a module. Obtain the script with

    git clone https://github.com/KellerJordan/cifar10-airbench /tmp/cifar10-airbench
    # -> /tmp/cifar10-airbench/legacy/airbench94.py
    #    (written against upstream commit 1b8f794; sha256
    #     0b155e0ff0e696bc01ae136654ddae88a24cd053cd2b4313d44548c29ed6c91d)

The PyPI package `airbench` (0.1.8) does NOT contain this script: it ships a refactored library
(airbench/lib_airbench94.py + utils.py) whose training loop differs in structure, so it is not
used here.

Usage
-----
    /work/venv/bin/python benches/airbench94_reference.py --script /tmp/cifar10-airbench/legacy/airbench94.py
        [--data /work/shared/datasets/cifar-10/jpeg-derived] [--runs 1] [--seed 0] [--threads 2]
        [--epochs E] [--limit-train N] [--limit-test N] [--warmup] [--workdir DIR]

Full-length comparison (the reference's 9.9 epochs on all 50,000 images, TTA on all 10,000 test
images; hours on 2 cores):

    /work/venv/bin/python benches/airbench94_reference.py --script /tmp/cifar10-airbench/legacy/airbench94.py --runs 1 --seed 0

Smoke test (a few minutes):

    /work/venv/bin/python benches/airbench94_reference.py --script /tmp/cifar10-airbench/legacy/airbench94.py \
        --limit-train 5120 --limit-test 1000 --epochs 2

Output: the reference's own per-epoch table, then per run one line (wrapped here)

    RESULT airbench94-reference run=R seed=S acc=0.xxxx acc_notta=0.xxxx train_s=T run_s=W total_s=P
        epochs=E n_train=N n_test=M threads=K torch=V

where
  acc        test accuracy with the reference's test-time augmentation (tta_level=2: mirror +
             one-pixel translations), i.e. the number the reference reports;
  acc_notta  test accuracy without TTA after the last epoch (the table's val_acc column);
  train_s    the reference's own `total_time_seconds`: whitening-layer init + all training epochs +
             the final TTA evaluation, excluding the per-epoch untimed val_acc evaluations;
  run_s      wall time of the whole run: loading the cached tensors, model build, training, the
             per-epoch evaluations and the TTA evaluation;
  total_s    wall time of this whole process up to the end (Python + torch import, decoding our
             gzip binaries, writing the cache, all runs), measured from the first line of this file.
With --runs > 1 a `SUMMARY` line gives the mean and standard deviation of acc.

Changes made to the reference, and why
--------------------------------------
Textual (the only way to change an expression inside a function body; each pattern must occur
exactly once in the original, otherwise the adapter stops, so a changed upstream fails loudly;
every replacement is a single line, so tracebacks keep the original line numbers):
  1. CifarLoader.__init__: `self.images.half() / 255` -> `self.images.float() / 255`
     (input images in float32 instead of float16).
  2. make_net: `net = net.half().cuda()` -> `net = net.float()`
     (model weights in float32 on the CPU instead of float16 on CUDA; the BatchNorm layers are
     float32 in the reference already). Half-precision convolutions on CPU are not a viable
     option on CPUs without native fp16 arithmetic (AVX512-FP16/AMX): on this machine (torch
     2.15, 2 threads) a 64->256 3x3 convolution of a 256 x 64 x 16 x 16 batch took 0.20 s in
     fp32, 1.43 s in fp16 and 1.52 s in bf16. So the whole network runs in fp32. This is a
     numerical deviation from the reference (which trains with pure fp16 weights and
     activations): the arithmetic is more precise than the reference's; its effect on accuracy
     is expected to be small but is not measured here.
  After patching, the adapter checks that no `.half()` or `.cuda()` call is left.
By monkeypatching (no change to the source text):
  3. Device: CifarLoader is replaced by a subclass whose `gpu` argument defaults to 'cpu' (the
     reference passes nothing, so it would map the data to CUDA device 0).
  4. Timing: torch.cuda.Event / torch.cuda.synchronize are replaced, in this process, by a
     time.perf_counter() stamp and a no-op. On CPU every operation has finished when it returns,
     so the stamps measure exactly the intervals the reference's CUDA events measure.
  5. Data: the reference loads `cifar10/train.pt` / `cifar10/test.pt` (relative to the working
     directory) holding {'images': uint8 NHWC, 'labels': int64, 'classes': [str]}, and only
     downloads CIFAR-10 through torchvision when those files are absent. The adapter decodes our
     gzip'd CIFAR-10 binaries (--data), writes those two files in the same format into a fresh
     working directory (--workdir, default a temporary directory removed at the end) and runs
     there. torchvision.datasets.CIFAR10 is replaced, inside the reference module only, by a
     function that raises, so a download can never happen silently.
     --limit-train N / --limit-test M keep a fixed pseudo-random subset of N / M images (not
     the first ones: our test batch is sorted by class); for smoke tests only. N must be at least
     the batch size 1024 because the reference drops the last partial batch, and the run should
     have at least 5 steps: the reference's lookahead EMA is first updated at step 5, and its
     final `update(decay=1.0)` resets the weights to the EMA, which before step 5 is the
     untrained initial model (whitening layer included), so shorter runs score at chance.
  6. Hyper-parameters: --epochs overrides hyp['opt']['train_epochs'] (default: the reference's
     9.9). Nothing else in `hyp` is changed.
  7. Runs and seeds: the reference's `if __name__ == "__main__"` block (25 runs, an optional
     warm-up run that is commented out upstream, saving logs/<uuid>/log.pt) is not executed; the
     adapter calls the reference's `main(run)` --runs times, seeding torch with --seed + run
     before each (the reference does not seed). --warmup runs the reference's `main('warmup')`
     (random labels, results discarded) first, as upstream would if uncommented.
  8. Threads: torch.set_num_threads(--threads), default 2 (this machine's core count).
  9. Results: the reference's print_training_details is wrapped (it still prints its table) to
     capture the final entry's tta_val_acc, val_acc and total_time_seconds for the RESULT line.
torch.backends.cudnn.benchmark = True and channels_last memory format are left as they are
(harmless on CPU; oneDNN supports channels_last fp32 convolutions).
"""
import time

_T0 = time.perf_counter()  # start of the whole process, for total_s

import argparse
import gzip
import hashlib
import math
import os
import shutil
import statistics
import sys
import tempfile
import types

import numpy as np
import torch

DEFAULT_DATA = "/work/shared/datasets/cifar-10/jpeg-derived"
# sha256 of legacy/airbench94.py at upstream commit 1b8f794961dede8c4a3480bc7753904818f70d97
# (the latest commit touching that file when this adapter was written).
KNOWN_SHA256 = "0b155e0ff0e696bc01ae136654ddae88a24cd053cd2b4313d44548c29ed6c91d"

# (original text, replacement, reason); each original must occur exactly once.
TEXT_PATCHES = [
    ("self.images = (self.images.half() / 255)",
     "self.images = (self.images.float() / 255)",
     "input images float16 -> float32"),
    ("net = net.half().cuda()",
     "net = net.float()",
     "model float16 on CUDA -> float32 on CPU"),
]

RECORD = 1 + 3 * 32 * 32  # CIFAR-10 binary format: 1 label byte + 3072 CHW pixel bytes


# ---------------------------------------------------------------------------------------------
# Our data
# ---------------------------------------------------------------------------------------------

def read_cifar_bin_gz(path):
    """One gzip'd CIFAR-10 binary batch -> (uint8 images N x 32 x 32 x 3 (HWC, as torchvision's
    CIFAR10.data), int64 labels N)."""
    with gzip.open(path, "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8)
    if raw.size % RECORD != 0:
        raise ValueError(f"{path}: {raw.size} bytes is not a multiple of the {RECORD}-byte record")
    raw = raw.reshape(-1, RECORD)
    labels = raw[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{path}: label {labels.max()} out of range")
    images = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def write_reference_cache(data_dir, workdir, limit_train, limit_test):
    """Write workdir/cifar10/{train,test}.pt in the format the reference's CifarLoader caches
    (torch.save of {'images': uint8 N x 32 x 32 x 3, 'labels': int64 N, 'classes': [str]}).
    Returns (n_train, n_test)."""
    with open(os.path.join(data_dir, "batches.meta.txt")) as f:
        classes = [line.strip() for line in f if line.strip()]
    if len(classes) != 10:
        raise ValueError(f"expected 10 class names in batches.meta.txt, got {classes}")
    splits = {
        "train": [os.path.join(data_dir, f"data_batch_{i}.bin.gz") for i in range(1, 6)],
        "test": [os.path.join(data_dir, "test_batch.bin.gz")],
    }
    limits = {"train": limit_train, "test": limit_test}
    out_dir = os.path.join(workdir, "cifar10")
    os.makedirs(out_dir, exist_ok=True)
    sizes = {}
    for split, files in splits.items():
        parts = [read_cifar_bin_gz(p) for p in files]
        images = np.concatenate([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
        if limits[split] is not None and limits[split] < len(labels):
            # A fixed pseudo-random subset, kept in file order: our test batch is sorted by
            # class, so its first M images would cover only M/1000 classes.
            keep = np.sort(np.random.default_rng(0).permutation(len(labels))[:limits[split]])
            images, labels = images[keep], labels[keep]
        torch.save({"images": torch.from_numpy(images), "labels": torch.from_numpy(labels),
                    "classes": classes}, os.path.join(out_dir, f"{split}.pt"))
        sizes[split] = len(labels)
    return sizes["train"], sizes["test"]


# ---------------------------------------------------------------------------------------------
# The reference script
# ---------------------------------------------------------------------------------------------

def patch_source(src):
    for old, new, why in TEXT_PATCHES:
        n = src.count(old)
        if n != 1:
            raise SystemExit(f"reference script changed: expected exactly one occurrence of "
                             f"{old!r} ({why}), found {n}")
        src = src.replace(old, new)
    for leftover in (".half()", ".cuda()"):
        if leftover in src:
            raise SystemExit(f"reference script changed: {leftover!r} still present after patching")
    return src


class _CpuTimingEvent:
    """Stand-in for torch.cuda.Event(enable_timing=True) on CPU, where every operation has
    completed when it returns, so a wall-clock stamp at record() is exact."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self.t = None

    def record(self, stream=None):
        self.t = time.perf_counter()

    def elapsed_time(self, end_event):  # milliseconds, as torch.cuda.Event.elapsed_time
        return 1e3 * (end_event.t - self.t)


def _refuse_download(*args, **kwargs):
    raise RuntimeError("the reference tried to download CIFAR-10: the adapter's cache files "
                       "cifar10/{train,test}.pt were not found in the working directory")


def load_reference(script_path, captured):
    """Read, patch and execute the reference script as a module (its __main__ block does not run)
    and apply the monkeypatches described in the module docstring."""
    with open(script_path, "rb") as f:
        raw = f.read()
    sha = hashlib.sha256(raw).hexdigest()
    if sha == KNOWN_SHA256:
        print(f"reference: {script_path} (sha256 {sha[:12]}, matches upstream commit 1b8f794)")
    else:
        print(f"reference: {script_path} (sha256 {sha[:12]}; WARNING: differs from the version "
              f"this adapter was written for, {KNOWN_SHA256[:12]})")
    src = patch_source(raw.decode("utf-8"))

    # 4. CUDA event timing -> perf_counter (process-wide; this process runs only the reference).
    torch.cuda.Event = _CpuTimingEvent
    torch.cuda.synchronize = lambda device=None: None

    mod = types.ModuleType("airbench94_reference_patched")
    mod.__file__ = os.path.abspath(script_path)
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)

    # 3. Data on the CPU.
    class CpuCifarLoader(mod.CifarLoader):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("gpu", "cpu")
            super().__init__(*args, **kwargs)

    mod.CifarLoader = CpuCifarLoader
    # 5. Never download.
    mod.torchvision = types.SimpleNamespace(
        datasets=types.SimpleNamespace(CIFAR10=_refuse_download))

    # 9. Capture the final table entry of each run.
    print_details = mod.print_training_details

    def capturing_print_training_details(variables, is_final_entry):
        if is_final_entry:
            captured.append({k: variables[k] for k in
                             ("tta_val_acc", "val_acc", "total_time_seconds")})
        return print_details(variables, is_final_entry)

    mod.print_training_details = capturing_print_training_details
    return mod


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--script", required=True,
                    help="path of the original legacy/airbench94.py (see the docstring)")
    ap.add_argument("--data", default=DEFAULT_DATA,
                    help="directory of gzip'd CIFAR-10 binaries (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=1, help="number of training runs (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="torch seed of run 0; run r uses seed+r")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--epochs", type=float, default=None,
                    help="override hyp['opt']['train_epochs'] (reference: 9.9)")
    ap.add_argument("--limit-train", type=int, default=None, metavar="N",
                    help="use a fixed subset of N training images (smoke tests; N >= 1024)")
    ap.add_argument("--limit-test", type=int, default=None, metavar="N",
                    help="use a fixed, class-mixed subset of N test images (smoke tests)")
    ap.add_argument("--warmup", action="store_true",
                    help="run the reference's main('warmup') (random labels) first, untimed")
    ap.add_argument("--workdir", default=None,
                    help="where cifar10/{train,test}.pt are written and the reference runs "
                         "(default: a temporary directory, removed at the end)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    script = os.path.abspath(args.script)
    data_dir = os.path.abspath(args.data)
    captured = []
    mod = load_reference(script, captured)

    if args.epochs is not None:
        mod.hyp["opt"]["train_epochs"] = args.epochs
    batch_size = mod.hyp["opt"]["batch_size"]
    if args.limit_train is not None and args.limit_train < batch_size:
        raise SystemExit(f"--limit-train must be at least the batch size {batch_size} "
                         f"(the reference drops the last partial batch)")

    workdir = args.workdir or tempfile.mkdtemp(prefix="airbench94_ref_")
    os.makedirs(workdir, exist_ok=True)
    t = time.perf_counter()
    n_train, n_test = write_reference_cache(data_dir, workdir, args.limit_train, args.limit_test)
    data_s = time.perf_counter() - t
    print(f"data: {data_dir} -> {workdir}/cifar10/{{train,test}}.pt "
          f"({n_train} train, {n_test} test images, {data_s:.1f}s)")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"train_epochs {mod.hyp['opt']['train_epochs']}")
    steps = math.ceil((n_train // batch_size) * mod.hyp["opt"]["train_epochs"])
    if steps < 5:
        print(f"WARNING: only {steps} training steps; the reference's lookahead resets the weights "
              f"to the untrained model when a run has fewer than 5 (accuracy will be at chance)")

    cwd = os.getcwd()
    os.chdir(workdir)  # the reference reads the relative path 'cifar10/'
    results = []
    try:
        mod.print_columns(mod.logging_columns_list, is_head=True)
        if args.warmup:
            torch.manual_seed(args.seed)
            mod.main("warmup")
            captured.clear()
        for run in range(args.runs):
            torch.manual_seed(args.seed + run)
            t = time.perf_counter()
            acc = mod.main(run)
            run_s = time.perf_counter() - t
            final = captured.pop()
            assert final["tta_val_acc"] == acc
            results.append((run, args.seed + run, acc, final["val_acc"],
                            final["total_time_seconds"], run_s))
    finally:
        os.chdir(cwd)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    total_s = time.perf_counter() - _T0
    for run, seed, acc, acc_notta, train_s, run_s in results:
        print(f"RESULT airbench94-reference run={run} seed={seed} acc={acc:.4f} "
              f"acc_notta={acc_notta:.4f} train_s={train_s:.2f} run_s={run_s:.2f} "
              f"total_s={total_s:.2f} epochs={mod.hyp['opt']['train_epochs']} "
              f"n_train={n_train} n_test={n_test} threads={torch.get_num_threads()} "
              f"torch={torch.__version__}")
    if len(results) > 1:
        accs = [r[2] for r in results]
        print(f"SUMMARY airbench94-reference runs={len(accs)} acc_mean={statistics.mean(accs):.4f} "
              f"acc_std={statistics.stdev(accs):.4f} total_s={total_s:.2f}")


if __name__ == "__main__":
    sys.exit(main())
