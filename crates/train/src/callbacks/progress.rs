//! Progress within an epoch: a bar on a terminal; elsewhere (logs, CI, `nohup`) a line on standard
//! error at intervals, so that a long epoch shows signs of life without flooding the log.
use crate::callback::{BatchEnd, Callback, Control, EpochEnd, RunStart};
use crate::error::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Shows how far the current epoch is.
pub struct Progress {
    /// `Some` on a terminal.
    bar: Option<ProgressBar>,
    /// Time between progress lines when not on a terminal.
    interval: Duration,
    /// Where progress lines go (standard error unless given).
    out: Box<dyn Write + Send>,
    last_line: Instant,
    epochs: usize,
}

impl Progress {
    /// A bar when standard error is a terminal, else a line every `interval`.
    pub fn new(interval: Duration) -> Progress {
        Progress {
            bar: std::io::stderr().is_terminal().then(ProgressBar::hidden),
            ..Progress::lines(interval, std::io::stderr())
        }
    }

    /// Progress lines every `interval` into `out`, never a bar.
    pub fn lines(interval: Duration, out: impl Write + Send + 'static) -> Progress {
        Progress {
            bar: None,
            interval,
            out: Box::new(out),
            last_line: Instant::now(),
            epochs: 0,
        }
    }
}

impl Default for Progress {
    /// A bar, or a line every 30 seconds.
    fn default() -> Self {
        Progress::new(Duration::from_secs(30))
    }
}

fn summary(e: &BatchEnd) -> String {
    format!(
        "loss {:.4} acc {:.2}% {:.0} img/s",
        e.epoch_loss,
        100.0 * e.epoch_accuracy,
        e.images as f64 / e.seconds.max(1e-9)
    )
}

impl Callback for Progress {
    fn on_run_start(&mut self, e: &RunStart) -> Result<()> {
        self.epochs = e.config.epochs;
        self.last_line = Instant::now();
        Ok(())
    }

    fn on_batch_end(&mut self, e: &BatchEnd) -> Result<Control> {
        match &mut self.bar {
            Some(bar) => {
                if e.step == 1 {
                    *bar = ProgressBar::new(e.batches_per_epoch as u64);
                    let style = ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}<{eta})",
                    )
                    .expect("valid template")
                    .progress_chars("=> ");
                    bar.set_style(style);
                    bar.set_prefix(format!("epoch {}/{}", e.epoch, self.epochs));
                }
                bar.set_position(e.step as u64);
                if e.step % 20 == 1 {
                    bar.set_message(summary(e));
                }
            }
            None if self.last_line.elapsed() >= self.interval => {
                self.last_line = Instant::now();
                // A progress line that cannot be written is not worth stopping the run for.
                let _ = writeln!(
                    self.out,
                    "epoch {}/{}: batch {}/{}, {}",
                    e.epoch,
                    self.epochs,
                    e.step,
                    e.batches_per_epoch,
                    summary(e)
                );
            }
            None => {}
        }
        Ok(Control::Continue)
    }

    fn on_epoch_end(&mut self, _: &EpochEnd) -> Result<Control> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        Ok(Control::Continue)
    }
}
