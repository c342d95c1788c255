//! The range test's curve as a PNG: the centred average of the loss (blue) and the raw loss (grey) against the rate on a
//! log scale, with the steepest (green) and valley (red) suggestions as vertical lines.
use super::LrFindResult;
use crate::callbacks::rgb_png;
use crate::error::{Error, Result};
use plotters::prelude::*;

const SIZE: (u32, u32) = (640, 420);

fn drawing_error(e: impl std::fmt::Display) -> Error {
    Error::Callback(format!("drawing the lr-find plot: {e}"))
}

/// The plot of `result` as PNG bytes.
///
/// # Errors
/// [`Error::Callback`] if the chart cannot be drawn or encoded.
pub fn draw_lr_find(result: &LrFindResult) -> Result<Vec<u8>> {
    let (w, h) = SIZE;
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        let log = |x: f64| x.log10();
        let (lo, hi) = (
            log(result.lrs[0]),
            log(*result.lrs.last().expect("5+ points")),
        );
        // Up to a little above the start: the diverging tail would flatten everything else.
        let top = result.centred[..result.centred.len().min(10)]
            .iter()
            .fold(0.0f64, |a, &b| a.max(b))
            * 1.3;
        let clip = |values: &[f64]| values.iter().map(|v| v.min(top)).collect::<Vec<_>>();
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .build_cartesian_2d(lo..hi.max(lo + 1e-9), 0.0..top.max(1e-9))
            .map_err(drawing_error)?;
        let series = |values: &[f64]| -> Vec<(f64, f64)> {
            result
                .lrs
                .iter()
                .map(|&x| log(x))
                .zip(values.iter().copied())
                .collect()
        };
        chart
            .draw_series([PathElement::new(
                series(&clip(&result.losses)),
                RGBColor(180, 180, 180),
            )])
            .map_err(drawing_error)?;
        chart
            .draw_series([PathElement::new(
                series(&clip(&result.centred)),
                BLUE.stroke_width(2),
            )])
            .map_err(drawing_error)?;
        for (lr, colour) in [(result.steepest, GREEN), (result.valley, RED)] {
            let x = log(lr);
            chart
                .draw_series([PathElement::new(
                    [(x, 0.0), (x, top)],
                    colour.stroke_width(2),
                )])
                .map_err(drawing_error)?;
        }
        root.present().map_err(drawing_error)?;
    }
    rgb_png(&buffer, w, h)
}
