"""Inputs for the torchvision fine-tuning demonstration of `convkit finetune` (README, "finetune").

  python scripts/finetune_demo_data.py OUT_DIR [--per-class N]

writes
  OUT_DIR/resnet18-random.pth   torchvision's ResNet-18 state_dict (torchvision.models.resnet18(),
                                random initial weights, 1000 classes) saved by torch.save: the file
                                a user with real pretrained weights would pass to --from
  OUT_DIR/folder/{train,test}/<class>/*.png
                                a small image folder: the first N (train) and the next N // 4
                                (test) images of CIFAR-10 classes 0-4 from the repository's
                                JPEG-derived copy (../shared/datasets/cifar-10/jpeg-derived)
Nothing here is committed; the PNGs are written at run time.
"""
import argparse
import gzip
import os

import numpy as np
import torch
import torchvision
from PIL import Image

CIFAR = os.path.join(os.path.dirname(__file__), "../../shared/datasets/cifar-10/jpeg-derived")
CLASSES = ["airplane", "automobile", "bird", "cat", "deer"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--per-class", type=int, default=80)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(0)
    model = torchvision.models.resnet18()
    torch.save(model.state_dict(), os.path.join(args.out, "resnet18-random.pth"))

    with gzip.open(os.path.join(CIFAR, "data_batch_1.bin.gz")) as f:
        records = np.frombuffer(f.read(), dtype=np.uint8).reshape(-1, 1 + 3 * 32 * 32)
    test_per_class = max(1, args.per_class // 4)
    taken = {c: 0 for c in range(len(CLASSES))}
    for i, record in enumerate(records):
        label = int(record[0])
        if label not in taken or taken[label] >= args.per_class + test_per_class:
            continue
        split = "train" if taken[label] < args.per_class else "test"
        taken[label] += 1
        folder = os.path.join(args.out, "folder", split, CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        image = record[1:].reshape(3, 32, 32).transpose(1, 2, 0)
        Image.fromarray(image).save(os.path.join(folder, f"{i:05d}.png"))
    print(f"wrote {args.out}/resnet18-random.pth and {sum(taken.values())} PNGs in {args.out}/folder")


if __name__ == "__main__":
    main()
