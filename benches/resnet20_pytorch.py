"""PyTorch reference for `convkit train --model resnet20 --dataset cifar10`: training images/s of
He et al.'s CIFAR ResNet-20 (option A shortcuts) at batch 128, SGD momentum 0.9, weight decay
5e-4, on random 3x32x32 inputs (the data pipeline is not timed).

    OMP_NUM_THREADS=2 python benches/resnet20_pytorch.py [--steps 30]
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride, plain=False):
        super().__init__()
        self.plain = plain
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.pad = c_out - c_in
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.plain:
            return F.relu(out)
        shortcut = x[:, :, :: self.stride, :: self.stride]
        if self.pad:
            shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, self.pad))
        return F.relu(out + shortcut)


def cifar_resnet(depth=20, classes=10, plain=False):
    """He et al.'s CIFAR ResNet of `depth` = 6n + 2 layers (option A), or its plain twin; convs
    initialised N(0, 2 / fan_in) as in the paper and in convkit."""
    n = (depth - 2) // 6
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    c_in = 16
    for width, stride in ((16, 1), (32, 2), (64, 2)):
        for i in range(n):
            layers.append(Block(c_in, width, stride if i == 0 else 1, plain))
            c_in = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes)]
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
    return model


def resnet20(classes=10):
    return cifar_resnet(20, classes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = resnet20()
    print("parameters:", sum(p.numel() for p in model.parameters()))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        elapsed = time.perf_counter() - start
        print(f"resnet20 train b{args.batch}: {args.steps * args.batch / elapsed:.0f} img/s")


if __name__ == "__main__":
    main()
