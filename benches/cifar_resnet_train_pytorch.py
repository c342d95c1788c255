"""PyTorch reference run of convkit's CIFAR ResNet training, on the same CIFAR-10 files:

    convkit train --model resnet56 --dataset cifar10 --data-dir DIR --train-limit 15000 --epochs 5 \\
        --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 1e-4 --schedule cosine \\
        --batch-size 128 --warmup-epochs 1
    OMP_NUM_THREADS=2 python benches/cifar_resnet_train_pytorch.py --data-dir DIR --depth 56 \\
        --train-limit 15000 --epochs 5 --weight-decay 1e-4 --warmup-epochs 1

Same network (benches/resnet20_pytorch.py, option-A shortcuts, or --plain), same data (the first
--train-limit training records, normalised by CIFAR-10's channel means and deviations, random
4-pixel-padded crops and horizontal flips), SGD with momentum and weight decay (on every parameter,
or with --no-decay-bias-norm not on biases and norms), linear warm-up from a tenth of --lr then
cosine to zero, stepped per epoch (convkit's default for cosine) or per batch. Prints one line per
epoch: training loss and error (over the epoch's batches) and test error.
"""
import argparse
import gzip
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from resnet20_pytorch import cifar_resnet

MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32).reshape(1, 3, 1, 1)
STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32).reshape(1, 3, 1, 1)


def load(paths):
    """CIFAR-10 binary records (label byte + 3072 pixel bytes), gzipped or not."""
    raw = b"".join((gzip.open if p.endswith(".gz") else open)(p, "rb").read() for p in paths)
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3073)
    images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return torch.from_numpy((images - MEAN) / STD), torch.from_numpy(records[:, 0].astype(np.int64))


def files(data_dir, names):
    out = []
    for name in names:
        path = os.path.join(data_dir, name)
        out.append(path if os.path.exists(path) else path + ".gz")
    return out


def augment(x, generator):
    """Random crop of the 4-pixel zero-padded image and a random horizontal flip, per image."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4))
    dx = torch.randint(0, 9, (n,), generator=generator)
    dy = torch.randint(0, 9, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    out = torch.empty_like(x)
    for i in range(n):
        crop = padded[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32]
        out[i] = crop.flip(2) if flip[i] else crop
    return out


def evaluate(model, x, y, batch=500):
    model.eval()
    wrong = 0
    with torch.inference_mode():
        for i in range(0, len(y), batch):
            wrong += (model(x[i : i + batch]).argmax(1) != y[i : i + batch]).sum().item()
    model.train()
    return wrong / len(y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--train-limit", type=int, default=50000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--no-decay-bias-norm", action="store_true",
                        help="no weight decay on biases and norm parameters (convkit's CIFAR recipe)")
    parser.add_argument("--warmup-epochs", type=int, default=0)
    parser.add_argument("--schedule-interval", choices=["epoch", "batch"], default="epoch")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    x, y = load(files(args.data_dir, names))
    x, y = x[: args.train_limit], y[: args.train_limit]
    x_test, y_test = load(files(args.data_dir, ["test_batch.bin"]))
    model = cifar_resnet(args.depth, plain=args.plain)
    decayed = [p for p in model.parameters() if p.ndim > 1 or not args.no_decay_bias_norm]
    rest = [p for p in model.parameters() if p.ndim <= 1 and args.no_decay_bias_norm]
    opt = torch.optim.SGD(
        [{"params": decayed}, {"params": rest, "weight_decay": 0.0}],
        lr=args.lr, momentum=0.9, weight_decay=args.weight_decay,
    )
    batches = math.ceil(len(y) / args.batch_size)
    per_epoch = batches if args.schedule_interval == "batch" else 1
    warmup, total = args.warmup_epochs * per_epoch, args.epochs * per_epoch

    def rate(step):
        """convkit's schedule: linear warm-up from lr/10, then cosine to zero, advanced once per
        batch or once per epoch."""
        step = step if per_epoch == batches else step // batches
        if step < warmup:
            return args.lr * (0.1 + 0.9 * step / warmup)
        t = (step - warmup) / max(1, total - warmup)
        return args.lr * 0.5 * (1 + math.cos(math.pi * t))

    kind = "plain" if args.plain else "resnet"
    print(f"{kind}{args.depth}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"{len(y)} training images, {args.epochs} epochs", flush=True)
    step, start = 0, time.time()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(y), generator=generator)
        loss_sum, wrong = 0.0, 0
        for i in range(0, len(y), args.batch_size):
            idx = order[i : i + args.batch_size]
            for group in opt.param_groups:
                group["lr"] = rate(step)
            logits = model(augment(x[idx], generator))
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            wrong += (logits.argmax(1) != y[idx]).sum().item()
            step += 1
        test_error = evaluate(model, x_test, y_test)
        print(f"epoch {epoch}: train loss {loss_sum / len(y):.4f} train error "
              f"{100 * wrong / len(y):.2f}% test error {100 * test_error:.2f}% "
              f"({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
