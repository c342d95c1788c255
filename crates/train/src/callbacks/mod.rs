//! The callbacks convkit ships: console lines, a progress bar (or progress lines when the output
//! is not a terminal), the metrics CSV, the curves PNG, TensorBoard logs, and stopping after an
//! epoch.
mod console;
mod curves;
mod metrics_csv;
mod progress;
mod stop_after;
mod tensorboard;

pub use console::Console;
pub(crate) use curves::rgb_png;
pub use curves::{draw_curves, Curves};
pub use metrics_csv::MetricsCsv;
pub use progress::Progress;
pub use stop_after::StopAfter;
pub use tensorboard::TensorBoard;
