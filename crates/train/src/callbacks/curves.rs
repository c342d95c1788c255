//! Loss and accuracy curves of a run, redrawn to `curves.png` in the run folder after every epoch
//! (written atomically like the checkpoints).
//!
//! Left panel loss, right panel accuracy; training in blue, validation in green, test in red. The
//! bitmap backend draws no text (it would need system fonts), so the colours are the legend.
use crate::callback::{Callback, Control, EpochEnd};
use crate::error::{Error, Result};
use crate::metrics::EpochMetrics;

use image::ImageEncoder;
use plotters::prelude::*;

const PANEL: (u32, u32) = (480, 360);

/// One curve: its colour and a value per epoch (`None` where it wasn't measured).
type Curve = (RGBColor, Vec<Option<f64>>);

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

fn drawing_error(e: impl std::fmt::Display) -> Error {
    Error::Callback(format!("drawing curves: {e}"))
}

/// The curves of `history` (one row per finished epoch) as a PNG file's bytes.
///
/// # Errors
/// [`Error::Callback`] if the chart cannot be drawn or encoded.
pub fn draw_curves(history: &[EpochMetrics]) -> Result<Vec<u8>> {
    let column = |f: fn(&EpochMetrics) -> Option<f64>| history.iter().map(f).collect();
    let losses: Vec<Curve> = vec![
        (BLUE, column(|m| Some(m.train_loss))),
        (GREEN, column(|m| m.validation.map(|(loss, _)| loss))),
        (RED, column(|m| m.test.map(|(loss, _)| loss))),
    ];
    let accuracies: Vec<Curve> = vec![
        (BLUE, column(|m| Some(m.train_accuracy))),
        (
            GREEN,
            column(|m| m.validation.map(|(_, accuracy)| accuracy)),
        ),
        (RED, column(|m| m.test.map(|(_, accuracy)| accuracy))),
    ];
    let (w, h) = (PANEL.0 * 2, PANEL.1);
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        let panels = root.split_evenly((1, 2));
        draw_panel(&panels[0], &losses)?;
        draw_panel(&panels[1], &accuracies)?;
        root.present().map_err(drawing_error)?;
    }
    rgb_png(&buffer, w, h)
}

/// RGB pixels (`w × h`, row-major) as PNG bytes.
///
/// # Errors
/// [`Error::Callback`] if the encoder fails.
pub(crate) fn rgb_png(pixels: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(pixels, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::Callback(format!("encoding a PNG: {e}")))?;
    Ok(png)
}

/// Curves over epochs 1..=n on a y range from zero to just above their largest value.
fn draw_panel(
    panel: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    curves: &[Curve],
) -> Result<()> {
    let epochs = curves
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let top = curves
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b))
        .max(1e-6)
        * 1.05;
    let mut chart = ChartBuilder::on(panel)
        .margin(12)
        .build_cartesian_2d(1.0..epochs as f64, 0.0..top)
        .map_err(drawing_error)?;
    chart
        .draw_series([PathElement::new([(1.0, 0.0), (epochs as f64, 0.0)], BLACK)])
        .map_err(drawing_error)?;
    for (colour, values) in curves {
        let points: Vec<(f64, f64)> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| ((i + 1) as f64, v)))
            .collect();
        chart
            .draw_series([PathElement::new(points.clone(), colour.stroke_width(2))])
            .map_err(drawing_error)?;
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(drawing_error)?;
    }
    Ok(())
}
