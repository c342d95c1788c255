//! Bookkeeping shared by every optimiser: the parameters in their groups and their lazily created
//! per-parameter state buffers, with the named form used by checkpoints.
use super::group::ParamGroup;
use crate::error::{Error, Result, StateProblem};
use convkit_tensor::Tensor;

/// One per-parameter state tensor: its name and whether it is a scalar or shaped like the parameter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub name: &'static str,
    pub scalar: bool,
}

impl Slot {
    pub const fn tensor(name: &'static str) -> Slot {
        Slot {
            name,
            scalar: false,
        }
    }

    pub const fn scalar(name: &'static str) -> Slot {
        Slot { name, scalar: true }
    }
}

/// The learning rate and weight decay in effect for one parameter (its group's settings applied).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hyper {
    pub lr: f32,
    pub weight_decay: f32,
}

/// What the update closure gets for one parameter.
pub(crate) struct ParamUpdate<'a> {
    pub hyper: Hyper,
    pub param: &'a mut [f32],
    pub grad: &'a [f32],
    /// One buffer per slot (a scalar slot is a one-element buffer), zero-filled on the first update.
    pub state: &'a mut [Vec<f32>],
    /// Whether this is the parameter's first update (its state was just created).
    pub first: bool,
}

/// The parameters an optimiser updates, the group each belongs to, and their state.
pub(crate) struct ParamStates {
    what: &'static str,
    params: Vec<(String, Tensor)>,
    group_of: Vec<usize>,
    groups: Vec<ParamGroup>,
    slots: Vec<Slot>,
    states: Vec<Option<Vec<Vec<f32>>>>,
    steps: u64,
}

impl ParamStates {
    /// # Errors
    /// A parameter listed twice (in one group or across groups), or a group setting that is negative
    /// or not finite.
    pub fn new(what: &'static str, groups: Vec<ParamGroup>, slots: Vec<Slot>) -> Result<Self> {
        let mut params: Vec<(String, Tensor)> = Vec::new();
        let mut group_of = Vec::new();
        let mut settings = Vec::with_capacity(groups.len());
        for (g, group) in groups.into_iter().enumerate() {
            group.check(what, g)?;
            for (name, tensor) in group.params.iter().cloned() {
                if params.iter().any(|(other, _)| *other == name) {
                    return Err(Error::config(
                        what,
                        format!("parameter {name} is listed twice"),
                    ));
                }
                params.push((name, tensor));
                group_of.push(g);
            }
            settings.push(ParamGroup {
                params: Vec::new(),
                ..group
            });
        }
        let states = vec![None; params.len()];
        Ok(ParamStates {
            what,
            params,
            group_of,
            groups: settings,
            slots,
            states,
            steps: 0,
        })
    }

    pub fn zero_grad(&self) {
        self.params.iter().for_each(|(_, p)| p.zero_grad());
    }

    /// Calls `update` for every parameter with a gradient, with its group's [`Hyper`] derived from
    /// the optimiser's `lr` and `weight_decay`, and counts the step.
    pub fn update(&mut self, lr: f32, weight_decay: f32, mut update: impl FnMut(ParamUpdate<'_>)) {
        for (((_, param), state), &g) in
            self.params.iter().zip(&mut self.states).zip(&self.group_of)
        {
            let group = &self.groups[g];
            let hyper = Hyper {
                lr: lr * group.lr_scale,
                weight_decay: group.weight_decay.unwrap_or(weight_decay),
            };
            param.with_grad_slice(|grad| {
                let Some(grad) = grad else { return };
                let mut data = param.data_mut();
                let first = state.is_none();
                let state = state.get_or_insert_with(|| {
                    self.slots
                        .iter()
                        .map(|s| vec![0.0; if s.scalar { 1 } else { data.len() }])
                        .collect()
                });
                update(ParamUpdate {
                    hyper,
                    param: &mut data,
                    grad,
                    state,
                    first,
                });
            });
        }
        self.steps += 1;
    }

    fn slot_dims(&self, slot: &Slot, param: &Tensor) -> Vec<usize> {
        if slot.scalar {
            Vec::new()
        } else {
            param.dims().to_vec()
        }
    }

    pub fn to_named(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![("step".to_string(), Tensor::scalar(self.steps as f32))];
        for ((name, param), state) in self.params.iter().zip(&self.states) {
            for (slot, buf) in self.slots.iter().zip(state.iter().flatten()) {
                let t = Tensor::from_vec(buf.clone(), self.slot_dims(slot, param))
                    .expect("state has the slot's size");
                out.push((format!("{name}.{}", slot.name), t));
            }
        }
        out
    }

    /// Replaces the state by `state` after checking it all, reporting every problem at once.
    pub fn load(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let mut problems = Vec::new();
        let mut steps = None;
        let mut found: Vec<Vec<Option<Vec<f32>>>> =
            vec![vec![None; self.slots.len()]; self.params.len()];
        for (name, t) in state {
            let target = if name == "step" {
                Some((Vec::new(), None))
            } else {
                self.params
                    .iter()
                    .enumerate()
                    .find_map(|(i, (pname, param))| {
                        let slot = name.strip_prefix(pname.as_str())?.strip_prefix('.')?;
                        let s = self.slots.iter().position(|s| s.name == slot)?;
                        Some((self.slot_dims(&self.slots[s], param), Some((i, s))))
                    })
            };
            match target {
                None => problems.push(StateProblem::Unexpected {
                    name: name.clone(),
                    found: t.dims().to_vec(),
                }),
                Some((expected, _)) if expected != t.dims() => problems.push(StateProblem::Shape {
                    name: name.clone(),
                    expected,
                    found: t.dims().to_vec(),
                }),
                Some((_, None)) => steps = Some(t.item() as u64),
                Some((_, Some((i, s)))) => found[i][s] = Some(t.to_vec()),
            }
        }
        if steps.is_none() {
            problems.push(StateProblem::Missing {
                name: "step".into(),
                expected: Vec::new(),
            });
        }
        for ((name, param), slots) in self.params.iter().zip(&found) {
            if slots.iter().any(Option::is_some) {
                for (slot, buf) in self.slots.iter().zip(slots) {
                    if buf.is_none() {
                        let expected = self.slot_dims(slot, param);
                        problems.push(StateProblem::Missing {
                            name: format!("{name}.{}", slot.name),
                            expected,
                        });
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::StateMismatch {
                source_name: "optimizer state".into(),
                target: format!("{} over {} parameters", self.what, self.params.len()),
                problems,
            });
        }
        self.steps = steps.unwrap_or_default();
        self.states = found
            .into_iter()
            .map(|slots| slots.into_iter().collect::<Option<Vec<_>>>())
            .collect();
        Ok(())
    }
}
