//! Learning-rate schedules against PyTorch: every schedule of `lr_schedules.json` and
//! `lr_schedules_extra.json` (see the fixtures README and
//! `tests/fixtures/generators/lr_schedules_extra.py`), built from the PyTorch class and constructor
//! arguments the file states, never from the case name. A schedule with a setting this crate does
//! not understand is reported as skipped, and the test fails if any is. `CONVKIT_FIXTURES=DIR`
//! runs the files of another directory (the extra file is optional there).
use convkit_nn::optim::{Optimizer, Sgd, SgdConfig};
use convkit_nn::schedule::{
    Anneal, CyclicMode, LrPolicy, LrScheduler, PlateauConfig, PlateauMode, ReduceLrOnPlateau,
    Schedule, StepInterval, ThresholdMode,
};
use convkit_tensor::Tensor;
use convkit_testkit::{assert_close, fixture_dir};
use serde_json::{Map, Value};

/// Constructor arguments; each read removes the key so unknown leftovers skip the case.
struct Args(Map<String, Value>);

impl Args {
    fn f32(&mut self, key: &str, default: f32) -> Result<f32, String> {
        self.0.remove(key).map_or(Ok(default), |v| {
            v.as_f64().map(|v| v as f32).ok_or(format!("{key}: {v}"))
        })
    }

    fn usize(&mut self, key: &str, default: Option<usize>) -> Result<usize, String> {
        match self.0.remove(key) {
            Some(v) => v.as_u64().map(|v| v as usize).ok_or(format!("{key}: {v}")),
            None => default.ok_or(format!("{key} is required")),
        }
    }

    fn bool(&mut self, key: &str, default: bool) -> Result<bool, String> {
        self.0
            .remove(key)
            .map_or(Ok(default), |v| v.as_bool().ok_or(format!("{key}: {v}")))
    }

    fn str(&mut self, key: &str, default: &str) -> Result<String, String> {
        self.0.remove(key).map_or(Ok(default.to_string()), |v| {
            v.as_str().map(str::to_string).ok_or(format!("{key}: {v}"))
        })
    }

    fn finish(self, kind: &str) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("unsupported {kind} arguments {:?}", self.0))
        }
    }
}

fn args(params: &Value) -> Result<Args, String> {
    Ok(Args(
        params.as_object().ok_or("params is not an object")?.clone(),
    ))
}

fn schedule(kind: &str, params: &Value) -> Result<Schedule, String> {
    let mut a = args(params)?;
    let s = match kind {
        "ConstantLR" => Schedule::Constant {
            factor: a.f32("factor", 1.0 / 3.0)?,
            total_iters: a.usize("total_iters", Some(5))?,
        },
        "StepLR" => Schedule::Step {
            step_size: a.usize("step_size", None)?,
            gamma: a.f32("gamma", 0.1)?,
        },
        "MultiStepLR" => {
            let milestones = a.0.remove("milestones").ok_or("milestones is required")?;
            let milestones = milestones
                .as_array()
                .and_then(|m| m.iter().map(|v| v.as_u64().map(|v| v as usize)).collect())
                .ok_or(format!("milestones: {milestones}"))?;
            Schedule::MultiStep {
                milestones,
                gamma: a.f32("gamma", 0.1)?,
            }
        }
        "ExponentialLR" => Schedule::Exponential {
            gamma: a.f32("gamma", f32::NAN)?,
        },
        "CosineAnnealingLR" => Schedule::CosineAnnealing {
            t_max: a.usize("T_max", None)?,
            eta_min: a.f32("eta_min", 0.0)?,
        },
        "CosineAnnealingWarmRestarts" => Schedule::CosineWarmRestarts {
            t_0: a.usize("T_0", None)?,
            t_mult: a.usize("T_mult", Some(1))?,
            eta_min: a.f32("eta_min", 0.0)?,
        },
        "LinearLR" => Schedule::Linear {
            start_factor: a.f32("start_factor", 1.0 / 3.0)?,
            end_factor: a.f32("end_factor", 1.0)?,
            total_iters: a.usize("total_iters", Some(5))?,
        },
        "OneCycleLR" => {
            let d = Schedule::one_cycle(0.0, 0);
            let Schedule::OneCycle {
                pct_start,
                div_factor,
                final_div_factor,
                ..
            } = d
            else {
                unreachable!()
            };
            let anneal = match a.str("anneal_strategy", "cos")?.as_str() {
                "cos" => Anneal::Cos,
                "linear" => Anneal::Linear,
                other => return Err(format!("anneal_strategy {other}")),
            };
            Schedule::OneCycle {
                max_lr: a.f32("max_lr", f32::NAN)?,
                total_steps: a.usize("total_steps", None)?,
                pct_start: a.f32("pct_start", pct_start)?,
                anneal,
                div_factor: a.f32("div_factor", div_factor)?,
                final_div_factor: a.f32("final_div_factor", final_div_factor)?,
                three_phase: a.bool("three_phase", false)?,
            }
        }
        "CyclicLR" => {
            // Momentum cycling is not part of the learning-rate schedule.
            if a.bool("cycle_momentum", true)? {
                return Err("cycle_momentum is not implemented".into());
            }
            let step_size_up = a.usize("step_size_up", Some(2000))?;
            let step_size_down = match a.0.remove("step_size_down") {
                None | Some(Value::Null) => step_size_up,
                Some(v) => v.as_u64().ok_or(format!("step_size_down: {v}"))? as usize,
            };
            let gamma = a.f32("gamma", 1.0)?;
            let mode = match a.str("mode", "triangular")?.as_str() {
                "triangular" => CyclicMode::Triangular,
                "triangular2" => CyclicMode::Triangular2,
                "exp_range" => CyclicMode::ExpRange { gamma },
                other => return Err(format!("mode {other}")),
            };
            Schedule::Cyclic {
                base_lr: a.f32("base_lr", f32::NAN)?,
                max_lr: a.f32("max_lr", f32::NAN)?,
                step_size_up,
                step_size_down,
                mode,
            }
        }
        // Linear warm-up to the full rate, then another schedule started at the milestone.
        "SequentialLR" => {
            let parts = a.0.remove("schedulers").ok_or("schedulers is required")?;
            let milestones = a.0.remove("milestones").ok_or("milestones is required")?;
            let (Some([warmup, then]), Some([milestone])) = (
                parts.as_array().map(Vec::as_slice),
                milestones.as_array().map(Vec::as_slice),
            ) else {
                return Err("only a warm-up followed by one schedule is supported".into());
            };
            let warmup = schedule(warmup["type"].as_str().unwrap_or(""), &warmup["params"])?;
            let Schedule::Linear {
                start_factor,
                end_factor: 1.0,
                total_iters,
            } = warmup
            else {
                return Err(format!("warm-up {warmup:?} is not a LinearLR to factor 1"));
            };
            if milestone.as_u64() != Some(total_iters as u64) {
                return Err("the milestone must end the warm-up".into());
            }
            Schedule::Warmup {
                steps: total_iters,
                start_factor,
                then: Box::new(schedule(
                    then["type"].as_str().unwrap_or(""),
                    &then["params"],
                )?),
            }
        }
        other => return Err(format!("{other} is not implemented")),
    };
    a.finish(kind)?;
    Ok(s)
}

fn plateau(params: &Value) -> Result<ReduceLrOnPlateau, String> {
    let mut a = args(params)?;
    let d = PlateauConfig::default();
    let p = PlateauConfig {
        mode: match a.str("mode", "min")?.as_str() {
            "min" => PlateauMode::Min,
            "max" => PlateauMode::Max,
            other => return Err(format!("mode {other}")),
        },
        factor: a.f32("factor", d.factor)?,
        patience: a.usize("patience", Some(d.patience))?,
        threshold: a.f32("threshold", d.threshold)?,
        threshold_mode: match a.str("threshold_mode", "rel")?.as_str() {
            "rel" => ThresholdMode::Rel,
            "abs" => ThresholdMode::Abs,
            other => return Err(format!("threshold_mode {other}")),
        },
        cooldown: a.usize("cooldown", Some(d.cooldown))?,
        min_lr: a.f32("min_lr", d.min_lr)?,
        eps: a.f32("eps", d.eps)?,
    };
    a.finish("ReduceLROnPlateau")?;
    Ok(ReduceLrOnPlateau::new(p))
}

/// The lr in effect at each step, stepping per batch (closed form) or per epoch with the metric.
fn simulate(case: &Value, initial_lr: f32, steps: usize) -> Result<Vec<f32>, String> {
    let kind = case["type"].as_str().ok_or("no type")?;
    let param = Tensor::zeros([1]).with_grad();
    let config = SgdConfig {
        lr: initial_lr,
        ..Default::default()
    };
    let mut opt = Sgd::new(vec![("p".into(), param)], config).unwrap();
    let (policy, interval) = if kind == "ReduceLROnPlateau" {
        (
            LrPolicy::Plateau(plateau(&case["params"])?),
            StepInterval::Epoch,
        )
    } else {
        (
            LrPolicy::Schedule(schedule(kind, &case["params"])?),
            StepInterval::Batch,
        )
    };
    let metric: Vec<f32> = case["metric"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(Value::as_f64)
                .map(|v| v as f32)
                .collect()
        })
        .unwrap_or_default();
    let mut scheduler = LrScheduler::new(policy, interval, &mut opt)?;
    let mut lrs = Vec::with_capacity(steps);
    for step in 0..steps {
        lrs.push(opt.lr());
        scheduler.batch_end(&mut opt);
        scheduler.epoch_end(metric.get(step).copied(), &mut opt);
    }
    Ok(lrs)
}

#[test]
fn schedules_match_pytorch() {
    let mut files = vec!["lr_schedules.json"];
    if fixture_dir().join("lr_schedules_extra.json").exists() {
        files.push("lr_schedules_extra.json");
    }
    let (mut passed, mut skipped) = (Vec::new(), Vec::new());
    for file in files {
        let path = fixture_dir().join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let json: Value = serde_json::from_str(&text).unwrap();
        let initial_lr = json["initial_lr"].as_f64().unwrap_or(0.1) as f32;
        for (name, case) in json["schedules"].as_object().expect("schedules") {
            let want: Vec<f32> = case["lrs"]
                .as_array()
                .expect("lrs")
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            match simulate(case, initial_lr, want.len()) {
                Ok(got) => {
                    assert_close(&format!("{file} {name}"), &got, &want, 1e-7, 1e-5)
                        .unwrap_or_else(|e| panic!("{e}"));
                    passed.push(name.clone());
                }
                Err(why) => {
                    eprintln!("skipped schedule {name}: {why}");
                    skipped.push(name.clone());
                }
            }
        }
    }
    eprintln!("schedules passed: {passed:?}; skipped: {skipped:?}");
    assert!(skipped.is_empty(), "skipped schedules: {skipped:?}");
    assert!(!passed.is_empty(), "no schedule ran");
}

#[test]
fn inverse_sqrt_and_warmup_by_hand() {
    let s = Schedule::InverseSqrt { timescale: 4 };
    let lrs: Vec<f32> = [0, 3, 4, 16, 64].iter().map(|&t| s.lr(1.0, t)).collect();
    assert_eq!(lrs, [1.0, 1.0, 1.0, 0.5, 0.25]);
    let w = Schedule::Warmup {
        steps: 4,
        start_factor: 0.0,
        then: Box::new(s),
    };
    assert_eq!(w.lr(2.0, 1), 0.5);
    assert_eq!(w.lr(2.0, 4 + 16), 1.0);
    assert!(Schedule::Step {
        step_size: 0,
        gamma: 0.1
    }
    .validate()
    .is_err());
}

#[test]
fn per_epoch_scheduler_ignores_batches_and_plateau_needs_epochs() {
    let param = Tensor::zeros([1]).with_grad();
    let config = SgdConfig {
        lr: 1.0,
        ..Default::default()
    };
    let mut opt = Sgd::new(vec![("p".into(), param)], config).unwrap();
    let policy = LrPolicy::Schedule(Schedule::Exponential { gamma: 0.5 });
    let mut s = LrScheduler::new(policy, StepInterval::Epoch, &mut opt).unwrap();
    (0..10).for_each(|_| s.batch_end(&mut opt));
    assert_eq!(opt.lr(), 1.0);
    s.epoch_end(None, &mut opt);
    assert_eq!((opt.lr(), s.steps()), (0.5, 1));
    let plateau = LrPolicy::Plateau(ReduceLrOnPlateau::new(PlateauConfig::default()));
    assert!(LrScheduler::new(plateau, StepInterval::Batch, &mut opt).is_err());
}
