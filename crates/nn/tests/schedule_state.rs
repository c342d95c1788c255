//! Resuming a learning-rate scheduler from its saved state, and where cyclic schedules end their
//! cycles (the snapshot points of a snapshot ensemble).
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::schedule::{
    CyclicMode, LrPolicy, LrScheduler, PlateauConfig, ReduceLrOnPlateau, Schedule, SchedulerState,
    StepInterval,
};
use convkit_tensor::Tensor;

fn sgd() -> Sgd {
    let param = Tensor::zeros([1]).with_grad();
    let config = SgdConfig {
        lr: 1.0,
        ..Default::default()
    };
    Sgd::new(vec![("p".into(), param)], config).unwrap()
}

fn plateau() -> LrPolicy {
    LrPolicy::Plateau(ReduceLrOnPlateau::new(PlateauConfig {
        patience: 1,
        cooldown: 1,
        factor: 0.5,
        ..PlateauConfig::default()
    }))
}

/// The rates after each epoch of a plateau scheduler fed `metrics`, saved and rebuilt (through
/// JSON, as a checkpoint does) after `split` epochs when given.
fn plateau_rates(metrics: &[f32], split: Option<usize>) -> Vec<f32> {
    let mut opt = sgd();
    let mut s = LrScheduler::new(plateau(), StepInterval::Epoch, &mut opt).unwrap();
    let mut rates = Vec::new();
    for (epoch, &m) in metrics.iter().enumerate() {
        if split == Some(epoch) {
            let json = serde_json::to_string(&s.state()).unwrap();
            let mut fresh_opt = sgd();
            let mut fresh =
                LrScheduler::new(plateau(), StepInterval::Epoch, &mut fresh_opt).unwrap();
            let state: SchedulerState = serde_json::from_str(&json).unwrap();
            fresh.restore(state, &mut fresh_opt).unwrap();
            assert_eq!(fresh_opt.lr(), opt.lr(), "restore applies the saved rate");
            (opt, s) = (fresh_opt, fresh);
        }
        s.epoch_end(Some(m), &mut opt);
        rates.push(opt.lr());
    }
    rates
}

#[test]
fn a_restored_plateau_scheduler_continues_like_the_uninterrupted_one() {
    // Improves, stalls twice (cut), cooldown, stalls, ...: every counter matters at some split.
    let metrics = [
        1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85,
    ];
    let straight = plateau_rates(&metrics, None);
    assert!(straight.windows(2).any(|w| w[1] < w[0]), "{straight:?}");
    for split in 1..metrics.len() {
        assert_eq!(
            plateau_rates(&metrics, Some(split)),
            straight,
            "split {split}"
        );
    }
}

#[test]
fn restoring_a_closed_form_schedule_moves_it_to_the_saved_step() {
    let policy = LrPolicy::Schedule(Schedule::Exponential { gamma: 0.5 });
    let mut opt = sgd();
    let mut s = LrScheduler::new(policy.clone(), StepInterval::Batch, &mut opt).unwrap();
    (0..3).for_each(|_| s.batch_end(&mut opt));
    let mut fresh_opt = sgd();
    let mut fresh = LrScheduler::new(policy, StepInterval::Batch, &mut fresh_opt).unwrap();
    fresh.restore(s.state(), &mut fresh_opt).unwrap();
    assert_eq!((fresh.steps(), fresh_opt.lr()), (3, 0.125));
    let err = fresh.restore(
        LrScheduler::new(plateau(), StepInterval::Epoch, &mut sgd())
            .unwrap()
            .state(),
        &mut fresh_opt,
    );
    assert!(err.unwrap_err().contains("another kind of schedule"));
}

/// The steps `t` at which `cycles_completed` grows, over the first `n` steps.
fn cycle_ends(schedule: &Schedule, n: usize) -> Vec<usize> {
    (1..=n)
        .filter(|&t| schedule.cycles_completed(t) > schedule.cycles_completed(t - 1))
        .collect()
}

#[test]
fn cycles_end_where_the_rate_is_lowest() {
    let cyclic = Schedule::Cyclic {
        base_lr: 0.1,
        max_lr: 1.0,
        step_size_up: 2,
        step_size_down: 3,
        mode: CyclicMode::Triangular,
    };
    assert_eq!(cycle_ends(&cyclic, 16), [5, 10, 15]);
    for t in [5, 10, 15] {
        assert!((cyclic.lr(1.0, t) - 0.1).abs() < 1e-6);
    }
    let sgdr = Schedule::CosineWarmRestarts {
        t_0: 2,
        t_mult: 2,
        eta_min: 0.0,
    };
    assert_eq!(cycle_ends(&sgdr, 20), [2, 6, 14]);
    // The step before a restart has the cycle's lowest rate; the restart is back at the base.
    for t in [2, 6, 14] {
        assert!(sgdr.lr(1.0, t - 1) < sgdr.lr(1.0, t - 2));
        assert_eq!(sgdr.lr(1.0, t), 1.0);
    }
    let warm = Schedule::Warmup {
        steps: 3,
        start_factor: 0.1,
        then: Box::new(sgdr),
    };
    assert_eq!(cycle_ends(&warm, 20), [5, 9, 17]);
    let cosine = Schedule::CosineAnnealing {
        t_max: 4,
        eta_min: 0.0,
    };
    assert!(cycle_ends(&cosine, 20).is_empty());
}
