#!/usr/bin/env bash
# BatchNorm: the same small VGG-style CNN with (smallcnn) and without (smallcnn-nobn) batch norms,
# SGD with momentum at rising learning rates, 2 epochs on 10,000 CIFAR-10 images each; which rates
# diverge (convkit stops a diverging run with a message), and the curves at a high rate in one plot.
source "$(dirname "$0")/common.sh"
LRS=${LRS:-0.01 0.03 0.1 0.3 1}
for model in smallcnn smallcnn-nobn; do
    for lr in $LRS; do
        train "bn-$model-$lr" --model "$model" --dataset cifar10 --data-dir "$CIFAR" \
            --train-limit 10000 --epochs 2 --optimizer sgd --lr "$lr" --momentum 0.9 \
            --batch-size 128 --augment none --seed 1
    done
done
HIGH=${HIGH:-0.1}
"$CONVKIT" plot "$(run_dir "bn-smallcnn-$HIGH")" "$(run_dir "bn-smallcnn-nobn-$HIGH")" \
    --label "with BN lr $HIGH,without BN lr $HIGH" --metric batch-loss,test-accuracy \
    --smooth 10 --out "$PICTURES/batchnorm.png"
