#!/usr/bin/env bash
# Transfer learning on CIFAR-10: a ResNet-20 pretrained on classes 0-4 (airplane, automobile,
# bird, cat, deer) learns classes 5-9 (dog, frog, horse, ship, truck) from only 10% of their
# training images (the first 2,500): a linear probe on the frozen body, fine-tuning (head first,
# then everything at discriminative rates), and the same network trained from scratch, all on
# the same epochs and the CIFAR recipe. Test accuracy per epoch of the three in one plot.
source "$(dirname "$0")/common.sh"
PRETRAIN_EPOCHS=${PRETRAIN_EPOCHS:-15}
EPOCHS=${EPOCHS:-15}
CIFAR_ARGS=(--model resnet20 --dataset cifar10 --data-dir "$CIFAR" --seed 1)
FEW=(--classes 5-9 --train-limit 2500 --epochs "$EPOCHS")

train transfer-pretrain "${CIFAR_ARGS[@]}" --classes 0-4 --epochs "$PRETRAIN_EPOCHS"
pretrained="$(run_dir transfer-pretrain)/last.safetensors"

run finetune transfer-probe --from "$pretrained" "${CIFAR_ARGS[@]}" "${FEW[@]}" --linear-probe
# A tenth of the recipe's rate: at 0.1 the first unfrozen epoch wrecks the pretrained body.
run finetune transfer-finetune --from "$pretrained" "${CIFAR_ARGS[@]}" "${FEW[@]}" \
    --freeze-epochs 2 --lr-mult 10 --lr 0.01
train transfer-scratch "${CIFAR_ARGS[@]}" "${FEW[@]}"
"$CONVKIT" plot "$(run_dir transfer-probe)" "$(run_dir transfer-finetune)" \
    "$(run_dir transfer-scratch)" --label "linear probe,fine-tune,from scratch" \
    --metric test-accuracy,train-loss --out "$PICTURES/transfer.png"
