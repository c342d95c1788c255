#!/usr/bin/env bash
# Initialisation, the training side (the activation side is `convkit init-stats`): a plain
# 10-hidden-layer ReLU MLP without normalisation trained for one epoch on MNIST with the course's
# three initialisations; the loss of every batch (smoothed over 20) in one plot.
source "$(dirname "$0")/common.sh"
for init in small xavier kaiming; do
    train "init-$init" --model mlp10 --weight-init "$init" --epochs 1 --optimizer sgd \
        --lr 0.01 --momentum 0.9 --batch-size 64 --seed 1
done
"$CONVKIT" plot "$(run_dir init-small)" "$(run_dir init-xavier)" "$(run_dir init-kaiming)" \
    --label small,xavier,kaiming --metric batch-loss --smooth 20 --out "$PICTURES/init.png"
