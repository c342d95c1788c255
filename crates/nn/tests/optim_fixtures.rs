//! Optimisers against PyTorch: every case of `optim.safetensors` (see the fixtures README), dispatched
//! on the class name and hyper-parameters in the file's `cases` metadata, never on the case name.
//! Cases for optimisers (or settings) this crate does not implement are reported as skipped.
//! The fixture directory defaults to the repository's `tests/fixtures`; set `CONVKIT_FIXTURES=DIR`
//! to run another set.
use convkit_nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use convkit_tensor::Tensor;
use convkit_testkit::{assert_close, TensorFile};
use serde_json::{Map, Value};

/// Reads a hyper-parameter as f32, removing it from `params` so leftovers can be detected.
fn take(params: &mut Map<String, Value>, key: &str, default: f32) -> f32 {
    params
        .remove(key)
        .and_then(|v| v.as_f64())
        .map_or(default, |v| v as f32)
}

/// The optimiser a case describes, or why it is skipped. Every hyper-parameter in the case must be
/// understood: an unknown one skips the case rather than being silently ignored.
fn build(case: &Value, param: &Tensor) -> Result<Box<dyn Optimizer>, String> {
    let mut params = case.as_object().ok_or("case is not an object")?.clone();
    let class = params
        .remove("op")
        .and_then(|v| v.as_str().map(str::to_string))
        .ok_or("no \"op\"")?;
    let named = vec![("p".to_string(), param.clone())];
    let optimizer: Box<dyn Optimizer> = match class.as_str() {
        "SGD" => {
            let d = SgdConfig::default();
            let config = SgdConfig {
                lr: take(&mut params, "lr", d.lr),
                momentum: take(&mut params, "momentum", d.momentum),
                dampening: take(&mut params, "dampening", d.dampening),
                weight_decay: take(&mut params, "weight_decay", d.weight_decay),
                nesterov: params
                    .remove("nesterov")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(d.nesterov),
            };
            Box::new(Sgd::new(named, config).map_err(|e| e.to_string())?)
        }
        "Adam" => {
            let d = AdamConfig::default();
            let betas = match params.remove("betas") {
                Some(Value::Array(b)) if b.len() == 2 => (
                    b[0].as_f64().ok_or("bad betas")? as f32,
                    b[1].as_f64().ok_or("bad betas")? as f32,
                ),
                Some(other) => return Err(format!("bad betas {other}")),
                None => d.betas,
            };
            let config = AdamConfig {
                lr: take(&mut params, "lr", d.lr),
                betas,
                eps: take(&mut params, "eps", d.eps),
                weight_decay: take(&mut params, "weight_decay", d.weight_decay),
            };
            Box::new(Adam::new(named, config).map_err(|e| e.to_string())?)
        }
        other => return Err(format!("{other} is not implemented")),
    };
    if !params.is_empty() {
        return Err(format!("unsupported {class} settings {params:?}"));
    }
    Ok(optimizer)
}

#[test]
fn optimizers_match_pytorch() {
    let fixture = TensorFile::load("optim.safetensors").unwrap();
    let cases = fixture.cases().unwrap();
    let (mut passed, mut skipped) = (Vec::new(), Vec::new());
    for case in &cases {
        let name = &case.name;
        let param = case.tensor("param0").unwrap().with_grad();
        let mut optimizer = match build(&case.config, &param) {
            Ok(o) => o,
            Err(why) => {
                eprintln!("skipped optim case {name}: {why}");
                skipped.push(name.clone());
                continue;
            }
        };
        let (grads, expected) = (
            case.tensor("grads").unwrap(),
            case.tensor("params_after_each_step").unwrap(),
        );
        let (steps, numel) = (grads.dims()[0], param.numel());
        for step in 0..steps {
            // Feed the recorded gradient: d(sum(p · g))/dp = g.
            let g = grads
                .narrow(0, step, 1)
                .unwrap()
                .reshape(param.dims())
                .unwrap();
            optimizer.zero_grad();
            param.mul(&g).unwrap().sum().backward().unwrap();
            optimizer.step().unwrap();
            let want = &expected.data()[step * numel..(step + 1) * numel];
            assert_close(
                &format!("{name} step {step}"),
                &param.data(),
                want,
                1e-6,
                1e-5,
            )
            .unwrap();
        }
        passed.push(name.clone());
    }
    eprintln!("optim cases passed: {passed:?}; skipped: {skipped:?}");
    let ran = |class: &str| {
        cases
            .iter()
            .any(|c| c.op() == class && passed.contains(&c.name))
    };
    assert!(
        ran("SGD") && ran("Adam"),
        "an SGD and an Adam case must run"
    );
}
