//! The callbacks convkit ships: console lines, a progress bar (or progress lines when the output
//! is not a terminal), the metrics CSV, the per-batch loss CSV, the curves PNG, TensorBoard logs, and stopping after an
//! epoch.
mod batch_log;
mod console;
mod curves;
mod metrics_csv;
mod progress;
mod stop_after;
mod tensorboard;

pub use batch_log::{BatchLog, BATCHES_HEADER};
pub use console::Console;
pub(crate) use curves::drawing_error;
pub use curves::{draw_curves, Curves};
pub use metrics_csv::MetricsCsv;
pub use progress::Progress;
pub use stop_after::StopAfter;
pub use tensorboard::TensorBoard;
