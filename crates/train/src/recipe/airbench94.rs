//! airbench94 (Jordan, arXiv 2404.00498, `legacy/airbench94.py`) as a complete configuration:
//! CIFAR-10 to 94% in about 10 epochs.
use crate::config::{
    IntervalName, OptimizerName, ParamGroupConfig, ScheduleName, TrainConfig, TtaName,
    WhiteningConfig,
};
use crate::datasets::DatasetName;
use convkit_nn::optim::LookaheadConfig;

/// airbench's learning rate per 1024 images and its weight decay, both in its own units.
const AIRBENCH_LR: f32 = 11.5;
const AIRBENCH_WEIGHT_DECAY: f32 = 0.0153;
const MOMENTUM: f32 = 0.85;
/// BatchNorm biases train with this multiple of the rate (but the same decay per step).
const BIAS_SCALER: f32 = 64.0;

/// The airbench94 run. The reference sums its loss over a batch of 1024 and divides its rate by
/// `1024·(1 + 1/(1 − momentum))`; convkit's loss is the batch mean, so the rate here is
/// 11.5 / (1 + 1/0.15) = 1.5, and PyTorch's coupled weight decay `wd/lr` of the reference becomes
/// 0.0153 / 11.5 per unit of rate (the decay per step, rate × decay, is the reference's).
/// The reference's 9.9 epochs of 48 full batches (476 steps, the last partial batch dropped) are
/// 10 epochs of 49 batches here (490 steps, the last one of 848 images).
pub fn airbench94() -> TrainConfig {
    let lr = AIRBENCH_LR / (1.0 + 1.0 / (1.0 - MOMENTUM));
    let weight_decay = AIRBENCH_WEIGHT_DECAY / AIRBENCH_LR;
    let mut config = TrainConfig {
        model: "airbench94".into(),
        epochs: 10,
        batch_size: Some(1024),
        whitening: Some(WhiteningConfig::default()),
        tta: TtaName::MirrorTranslate,
        ..TrainConfig::default()
    };
    let data = &mut config.data;
    data.dataset = DatasetName::Cifar10;
    data.augment = Some("crop:padding=2:mode=reflect,alt-flip".into());
    data.label_smoothing = Some(0.2);
    let optimizer = &mut config.optimizer;
    optimizer.name = OptimizerName::Sgd;
    optimizer.lr = Some(lr);
    optimizer.momentum = Some(MOMENTUM);
    optimizer.nesterov = true;
    optimizer.weight_decay = Some(weight_decay);
    optimizer.groups = vec![
        ParamGroupConfig {
            params: "*norm*.bias".into(),
            lr_scale: Some(BIAS_SCALER),
            weight_decay: Some(weight_decay / BIAS_SCALER),
            ..Default::default()
        },
        // The whitening layer's bias warms up for 3 epochs, then stays.
        ParamGroupConfig {
            params: "0.bias".into(),
            epochs: Some(3),
            ..Default::default()
        },
    ];
    optimizer.lookahead = Some(LookaheadConfig {
        k: 5,
        alpha: 1.0 - 0.95f32.powi(5),
        ramp: Some(3.0),
        buffers: true,
    });
    let schedule = &mut config.schedule;
    schedule.kind = Some(ScheduleName::Linear);
    schedule.interval = Some(IntervalName::Batch);
    schedule.warmup_fraction = Some(0.23);
    schedule.warmup_start_factor = 0.2;
    schedule.start_factor = 1.0;
    schedule.end_factor = 0.07;
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_is_valid_and_the_rates_are_the_reference_s() {
        let config = airbench94();
        config.validate().unwrap();
        // Per image of a batch of 1024: the reference's step on its summed loss.
        let reference_lr = 11.5 / (1024.0 * (1.0 + 1.0 / 0.15));
        let lr = config.optimizer.lr.unwrap();
        assert!((lr / 1024.0 - reference_lr).abs() < 1e-9, "{lr}");
        let reference_decay_per_step = 0.0153 * 1024.0 / (1024.0 * (1.0 + 1.0 / 0.15));
        let decay_per_step = lr * config.optimizer.weight_decay.unwrap();
        assert!((decay_per_step - reference_decay_per_step).abs() < 1e-9);
        let text = config.to_toml().unwrap();
        assert_eq!(TrainConfig::from_toml(&text).unwrap(), config);
    }
}
