#!/usr/bin/env bash
# Degradation (He et al. 2015, fig. 1 and 6): plain-20 vs plain-56 vs ResNet-20 vs ResNet-56 on
# CIFAR-10, the same schedule for all; training error per epoch in one plot. The deeper plain net
# trains worse, the deeper ResNet does not. EPOCHS and LIMIT shorten the runs. ZERO_INIT=1 also
# trains both ResNets with every residual block starting as its shortcut (--zero-init-residual)
# and plots those two runs in degradation-zero-init.png.
source "$(dirname "$0")/common.sh"
EPOCHS=${EPOCHS:-10}
LIMIT=${LIMIT:-50000}
schedule=(--dataset cifar10 --data-dir "$CIFAR" --train-limit "$LIMIT" --epochs "$EPOCHS"
    --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 1e-4 --schedule cosine
    --batch-size 128 --seed 1)
for model in plain20 plain56 resnet20 resnet56; do
    train "deg-$model" --model "$model" "${schedule[@]}"
done
"$CONVKIT" plot "$(run_dir deg-plain20)" "$(run_dir deg-plain56)" "$(run_dir deg-resnet20)" \
    "$(run_dir deg-resnet56)" --label plain-20,plain-56,ResNet-20,ResNet-56 \
    --metric train-error,test-error --out "$PICTURES/degradation.png"
if [ "${ZERO_INIT:-0}" = 1 ]; then
    for model in resnet20 resnet56; do
        train "deg-$model-zi" --model "$model" "${schedule[@]}" --zero-init-residual
    done
    "$CONVKIT" plot "$(run_dir deg-resnet20-zi)" "$(run_dir deg-resnet56-zi)" \
        --label "ResNet-20 zero-init,ResNet-56 zero-init" \
        --metric train-error,test-error --out "$PICTURES/degradation-zero-init.png"
fi
