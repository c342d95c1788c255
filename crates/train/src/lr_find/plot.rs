//! The range test's curve as a PNG: the centred average of the loss and the raw loss against the
//! rate on a log scale, with the steepest and valley suggestions as vertical lines.
use super::LrFindResult;
use crate::callbacks::drawing_error;
use crate::error::Result;
use convkit_plot::{Axis, Panel, Series, VerticalLine};

const SIZE: (u32, u32) = (640, 420);

/// The plot of `result` as PNG bytes.
///
/// # Errors
/// [`Error::Callback`](crate::Error::Callback) if the chart cannot be drawn or encoded.
pub fn draw_lr_find(result: &LrFindResult) -> Result<Vec<u8>> {
    // Up to a little above the start: the diverging tail would flatten everything else.
    let top = result.centred[..result.centred.len().min(10)]
        .iter()
        .fold(0.0f64, |a, &b| a.max(b))
        * 1.3;
    let against_lr = |values: &[f64]| -> Vec<(f64, f64)> {
        result
            .lrs
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect()
    };
    let panel = Panel {
        title: "learning-rate range test".into(),
        x: Axis::new("learning rate").log(),
        y: Axis::new("loss").range(0.0, top.max(1e-9)),
        series: vec![
            Series::new("loss", against_lr(&result.losses))
                .colour([180, 180, 180])
                .width(1),
            Series::new("smoothed", against_lr(&result.centred)).colour([31, 119, 180]),
        ],
        vertical_lines: vec![
            VerticalLine {
                x: result.steepest,
                colour: [44, 160, 44],
                label: format!("steepest {:.1e}", result.steepest),
            },
            VerticalLine {
                x: result.valley,
                colour: [214, 39, 40],
                label: format!("valley {:.1e}", result.valley),
            },
        ],
    };
    let image = convkit_plot::render(&[panel], SIZE).map_err(drawing_error)?;
    convkit_plot::to_png(&image).map_err(drawing_error)
}
