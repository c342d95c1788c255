//! The robustness curve: accuracy (%) against ε, one line per attack, one panel per norm (L∞
//! left, L2 right). plotters draws the lines; the labels are drawn afterwards with the bitmap font.
use super::text::{draw_text, text_width, GLYPH};
use anyhow::Context;
use convkit_attack::{Norm, RobustnessCurve};
use image::{Rgb, RgbImage};
use plotters::prelude::*;
use std::path::Path;

const PANEL: (u32, u32) = (560, 400);
const PALETTE: [RGBColor; 7] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 0),
];
const GRID: RGBColor = RGBColor(225, 225, 225);

/// A label to draw once plotters is done: pixel position, text, colour; a legend swatch
/// (a filled square before the text) when the flag is set.
type Label = (i32, i32, String, RGBColor, bool);

/// Draws `curves` to `path`.
pub fn draw_robustness(curves: &[RobustnessCurve], path: &Path) -> anyhow::Result<()> {
    let norms: Vec<Norm> = [Norm::Linf, Norm::L2]
        .into_iter()
        .filter(|n| curves.iter().any(|c| c.norm == *n))
        .collect();
    let (w, h) = (PANEL.0 * norms.len().max(1) as u32, PANEL.1);
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    let mut labels = Vec::new();
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        let panels = root.split_evenly((1, norms.len().max(1)));
        for (panel, &norm) in panels.iter().zip(&norms) {
            let of_norm: Vec<(usize, &RobustnessCurve)> = curves
                .iter()
                .enumerate()
                .filter(|(_, c)| c.norm == norm)
                .collect();
            draw_panel(panel, norm, &of_norm, &mut labels)?;
        }
        root.present()
            .map_err(|e| anyhow::anyhow!("drawing the robustness curve: {e}"))?;
    }
    let mut image = RgbImage::from_raw(w, h, buffer).context("chart buffer size")?;
    for (x, y, text, RGBColor(r, g, b), swatch) in labels {
        let (x, y, colour) = (x.max(0) as u32, y.max(0) as u32, Rgb([r, g, b]));
        draw_text(&mut image, x, y, &text, colour, 1);
        if swatch {
            for (dx, dy) in (0..GLYPH).flat_map(|dx| (0..GLYPH).map(move |dy| (dx, dy))) {
                if x >= 14 && y + dy < image.height() {
                    image.put_pixel(x - 14 + dx, y + dy, colour);
                }
            }
        }
    }
    image
        .save(path)
        .with_context(|| format!("writing {}", path.display()))
}

/// One norm's curves (each with its index in the palette) on axes 0..max ε × 0..100%.
fn draw_panel(
    panel: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    norm: Norm,
    curves: &[(usize, &RobustnessCurve)],
    labels: &mut Vec<Label>,
) -> anyhow::Result<()> {
    let plot_err =
        |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("drawing the robustness curve: {e}");
    let eps: Vec<f32> = curves
        .first()
        .map(|(_, c)| c.eps.clone())
        .unwrap_or_default();
    let max_eps = f64::from(eps.iter().fold(0.0f32, |m, &e| m.max(e))).max(1e-6);
    let mut chart = ChartBuilder::on(panel)
        .margin_left(52)
        .margin_right(20)
        .margin_top(36)
        .margin_bottom(40)
        .build_cartesian_2d(0.0..max_eps, 0.0..100.0)
        .map_err(plot_err)?;
    let at = |x: f64, y: f64| chart.backend_coord(&(x, y));
    for y in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let (px, py) = at(0.0, y);
        let text = format!("{y}%");
        labels.push((
            px - 8 - text_width(&text, 1) as i32,
            py - 4,
            text,
            BLACK,
            false,
        ));
    }
    for &e in &eps {
        let text = format!("{e}");
        let (px, py) = at(f64::from(e), 0.0);
        labels.push((
            px - text_width(&text, 1) as i32 / 2,
            py + 8,
            text,
            BLACK,
            false,
        ));
    }
    let (left, top) = at(0.0, 100.0);
    let title = format!("accuracy under attack vs eps ({})", norm.as_str());
    labels.push((left, top - 26, title, BLACK, false));
    for (row, (index, curve)) in curves.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        let (lx, ly) = at(max_eps, 100.0);
        let y = ly + 6 + row as i32 * (GLYPH as i32 + 6);
        let x = lx - 16 - text_width(&curve.attack, 1) as i32;
        labels.push((x, y, curve.attack.clone(), colour, true));
    }
    for y in [25.0, 50.0, 75.0, 100.0] {
        chart
            .draw_series([PathElement::new([(0.0, y), (max_eps, y)], GRID)])
            .map_err(plot_err)?;
    }
    chart
        .draw_series([PathElement::new(
            [(0.0, 100.0), (0.0, 0.0), (max_eps, 0.0)],
            BLACK,
        )])
        .map_err(plot_err)?;
    for (index, curve) in curves {
        let colour = PALETTE[index % PALETTE.len()];
        let points: Vec<(f64, f64)> = curve
            .eps
            .iter()
            .zip(curve.accuracies())
            .map(|(&e, a)| (f64::from(e), 100.0 * a))
            .collect();
        chart
            .draw_series([PathElement::new(points.clone(), colour.stroke_width(2))])
            .map_err(plot_err)?;
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(plot_err)?;
    }
    Ok(())
}
