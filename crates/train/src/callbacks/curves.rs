//! Loss and accuracy curves of a run, redrawn to `curves.png` in the run folder after every epoch
//! (written atomically like the checkpoints).
//!
//! Left panel loss, right panel accuracy (%); training, validation and test each a line with
//! dots at the epochs where they were measured.
use crate::callback::{Callback, Control, EpochEnd};
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;
use convkit_plot::{Axis, Panel, Series};

const PANEL: (u32, u32) = (480, 360);

/// Redraws `curves.png` after every epoch.
#[derive(Default)]
pub struct Curves;

impl Callback for Curves {
    fn on_epoch_end(&mut self, event: &EpochEnd) -> Result<Control> {
        let png = draw_curves(event.history)?;
        convkit_nn::io::write_atomic(&event.run_dir.join("curves.png"), &png)?;
        Ok(Control::Continue)
    }
}

/// A chart failure as this crate's error.
pub(crate) fn drawing_error(e: convkit_plot::Error) -> Error {
    Error::Callback(e.to_string())
}

/// The curves of `history` (one row per finished epoch) as a PNG file's bytes.
///
/// # Errors
/// [`Error::Callback`] if the chart cannot be drawn or encoded.
pub fn draw_curves(history: &[EpochMetrics]) -> Result<Vec<u8>> {
    type Pick = fn(&EpochMetrics) -> Option<(f64, f64)>;
    let splits: [(&str, Pick); 3] = [
        ("train", |m| Some((m.train_loss, m.train_accuracy))),
        ("validation", |m| m.validation),
        ("test", |m| m.test),
    ];
    let panel = |title: &str, value: fn((f64, f64)) -> f64, y: Axis| Panel {
        title: title.to_string(),
        x: Axis::new("epoch"),
        y,
        series: splits
            .iter()
            .map(|(name, pick)| {
                let points = history
                    .iter()
                    .filter_map(|m| pick(m).map(|p| (m.epoch as f64, value(p))))
                    .collect();
                Series::new(*name, points).markers()
            })
            .filter(|s| !s.points.is_empty())
            .collect(),
        vertical_lines: Vec::new(),
    };
    let panels = [
        panel("loss", |(loss, _)| loss, Axis::new("loss")),
        panel("accuracy", |(_, accuracy)| 100.0 * accuracy, Axis::new("%")),
    ];
    let image = convkit_plot::render(&panels, PANEL).map_err(drawing_error)?;
    convkit_plot::to_png(&image).map_err(drawing_error)
}
