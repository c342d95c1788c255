//! Every user-reachable failure of the nn crate.
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// Errors returned by layers, initialisers, optimisers and checkpoints.
#[derive(Debug, Error)]
pub enum Error {
    /// A tensor op failed (shapes that don't fit, ...): the message names the op and shapes.
    #[error(transparent)]
    Tensor(#[from] convkit_tensor::Error),
    /// A layer, initialiser or optimiser built with settings that can never work.
    #[error("{what}: invalid configuration: {msg}")]
    Config { what: &'static str, msg: String },
    /// Reading or writing a file failed (the OS error is part of the message, not a separate
    /// source, so that error chains print it once).
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A size read from a file or given by a setting is above convkit's limit.
    #[error(transparent)]
    Limit(#[from] convkit_tensor::limits::LimitError),
    /// A file that is not a valid checkpoint (truncated, corrupt, wrong dtype, bad metadata).
    #[error("{}: not a valid checkpoint: {msg}", path.display())]
    Format { path: PathBuf, msg: String },
    /// A state (checkpoint or optimiser state) that does not fit its target; lists every problem.
    #[error("{source_name} does not match {target}:\n  {}", list(problems))]
    StateMismatch {
        source_name: String,
        target: String,
        problems: Vec<StateProblem>,
    },
    /// A module name (`layer3.1.conv2`) that the model does not have; lists the ones it has.
    #[error("the model has no module named '{name}'; its modules are: {}", known.join(", "))]
    UnknownModule { name: String, known: Vec<String> },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(what: &'static str, msg: impl Into<String>) -> Self {
        Error::Config {
            what,
            msg: msg.into(),
        }
    }
}

/// One way a state fails to fit its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateProblem {
    /// The target has a tensor the state lacks.
    Missing { name: String, expected: Vec<usize> },
    /// The state has a tensor the target lacks.
    Unexpected { name: String, found: Vec<usize> },
    /// Both have the tensor, with different shapes.
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
}

impl fmt::Display for StateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateProblem::Missing { name, expected } => {
                write!(f, "missing tensor {name} (expected shape {expected:?})")
            }
            StateProblem::Unexpected { name, found } => {
                write!(f, "unexpected tensor {name} (shape {found:?})")
            }
            StateProblem::Shape {
                name,
                expected,
                found,
            } => {
                write!(
                    f,
                    "shape mismatch for {name}: expected {expected:?}, found {found:?}"
                )
            }
        }
    }
}

fn list(problems: &[StateProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

impl StateProblem {
    /// Every difference between the tensors a target expects and those a state holds, in the
    /// target's order (missing and shape problems) followed by the state's extras.
    pub fn compare(
        expected: &[(String, Vec<usize>)],
        found: &[(String, Vec<usize>)],
    ) -> Vec<StateProblem> {
        let find = |list: &[(String, Vec<usize>)], name: &str| {
            list.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone())
        };
        let mut problems = Vec::new();
        for (name, shape) in expected {
            match find(found, name) {
                None => problems.push(StateProblem::Missing {
                    name: name.clone(),
                    expected: shape.clone(),
                }),
                Some(f) if &f != shape => problems.push(StateProblem::Shape {
                    name: name.clone(),
                    expected: shape.clone(),
                    found: f,
                }),
                Some(_) => {}
            }
        }
        for (name, shape) in found {
            if find(expected, name).is_none() {
                problems.push(StateProblem::Unexpected {
                    name: name.clone(),
                    found: shape.clone(),
                });
            }
        }
        problems
    }
}
