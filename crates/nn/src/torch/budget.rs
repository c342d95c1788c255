//! Bounds on the work of unpickling: a hostile pickle can copy a memo entry into itself again
//! and again (each copy doubling the value: a "billion laughs" of a few hundred bytes) or nest
//! values deeper than the stack can drop. Every value the unpickler builds or copies is counted
//! against a budget that grows with the pickle's length, and nesting is capped.
use super::pickle::Value;

/// Nesting accepted: a state_dict's values nest a few levels (dict, reduce arguments, size tuple).
pub(crate) const MAX_DEPTH: usize = 100;

/// Values an unpickling may visit: plenty for a state_dict (a handful per tensor), a few hundred
/// MB of values at most for any input.
fn budget_for(pickle_len: usize) -> usize {
    pickle_len.saturating_mul(8).saturating_add(1 << 22)
}

/// What is left of an unpickling's budget.
pub(crate) struct Budget {
    left: usize,
}

impl Budget {
    pub(crate) fn for_pickle(pickle_len: usize) -> Budget {
        Budget {
            left: budget_for(pickle_len),
        }
    }

    /// Charges `n` units of work.
    ///
    /// # Errors
    /// When the budget is spent.
    pub(crate) fn spend(&mut self, n: usize) -> Result<(), String> {
        self.left = self.left.checked_sub(n).ok_or_else(|| {
            "the pickle builds far more values than its size allows (a pickle bomb?)".to_string()
        })?;
        Ok(())
    }

    /// Walks `value` (without recursion), charging one unit per value in it, and checks its
    /// nesting.
    ///
    /// # Errors
    /// When the budget is spent or the value nests deeper than [`MAX_DEPTH`].
    pub(crate) fn measure(&mut self, value: &Value) -> Result<(), String> {
        let mut todo = vec![(value, 1)];
        while let Some((v, depth)) = todo.pop() {
            self.spend(1)?;
            if depth > MAX_DEPTH {
                return Err(format!(
                    "the pickle nests values deeper than {MAX_DEPTH} levels"
                ));
            }
            match v {
                Value::Tuple(items) | Value::List(items) => {
                    todo.extend(items.iter().map(|i| (i, depth + 1)));
                }
                Value::Dict(entries) => {
                    for (k, x) in entries {
                        todo.extend([(k, depth + 1), (x, depth + 1)]);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}
