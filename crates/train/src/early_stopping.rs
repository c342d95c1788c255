//! Keeping the best epoch of a run, and stopping once it has not improved for a while.
use serde::{Deserialize, Serialize};

/// Tracks the best value of an accuracy-like metric (higher is better) over epochs; serialisable,
/// so a resumed run keeps its patience count.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// Epochs without improvement after which to stop; `None` never stops.
    patience: Option<usize>,
    best: Option<(usize, f64)>,
    since_best: usize,
}

/// What one epoch's metric means for the run.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The metric beat every earlier epoch (save the best checkpoint).
    pub improved: bool,
    /// Patience ran out: stop training.
    pub stop: bool,
}

impl EarlyStopping {
    pub fn new(patience: Option<usize>) -> Self {
        EarlyStopping {
            patience,
            best: None,
            since_best: 0,
        }
    }

    /// Records `metric` for `epoch`.
    pub fn observe(&mut self, epoch: usize, metric: f64) -> Verdict {
        let improved = self.best.is_none_or(|(_, best)| metric > best);
        if improved {
            self.best = Some((epoch, metric));
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        let stop = self.patience.is_some_and(|p| self.since_best >= p);
        Verdict { improved, stop }
    }

    /// The best (epoch, metric) so far.
    pub fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut stopper = EarlyStopping::new(Some(2));
        let verdicts: Vec<(bool, bool)> = [0.5, 0.7, 0.6, 0.7, 0.65, 0.9]
            .iter()
            .enumerate()
            .map(|(i, &m)| {
                let v = stopper.observe(i + 1, m);
                (v.improved, v.stop)
            })
            .collect();
        assert_eq!(
            verdicts,
            [
                (true, false),
                (true, false),
                (false, false),
                (false, true),
                (false, true),
                (true, false)
            ]
        );
        assert_eq!(stopper.best(), Some((6, 0.9)));
    }

    #[test]
    fn without_patience_it_only_tracks_the_best() {
        let mut stopper = EarlyStopping::new(None);
        for (epoch, metric) in [0.9, 0.1, 0.1, 0.1].into_iter().enumerate() {
            assert!(!stopper.observe(epoch + 1, metric).stop);
        }
        assert_eq!(stopper.best(), Some((1, 0.9)));
    }
}
