//! Line charts: one or more panels side by side, each with its own axes, title, tick labels and a
//! legend of its labelled series.
use crate::error::{Error, Result};
use crate::text::{draw_text, text_width, GLYPH};
use crate::ticks::{format_tick, ticks};
use image::{ImageEncoder, Rgb, RgbImage};
use plotters::prelude::*;

/// Colours given to series without one of their own, in order (matplotlib's first eight).
pub const PALETTE: [[u8; 3]; 8] = [
    [31, 119, 180],
    [214, 39, 40],
    [44, 160, 44],
    [148, 103, 189],
    [255, 127, 14],
    [23, 190, 207],
    [140, 86, 75],
    [0, 0, 0],
];
const GRID: RGBColor = RGBColor(228, 228, 228);
const BLACK_TEXT: [u8; 3] = [0, 0, 0];
const GREY_TEXT: [u8; 3] = [90, 90, 90];
/// Space around the plotting area: room for tick labels, the title and the axis labels.
const MARGIN: Margin = Margin {
    left: 64,
    right: 16,
    top: 40,
    bottom: 44,
};

struct Margin {
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
}

/// How an axis maps values to positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scale {
    #[default]
    Linear,
    /// Powers of ten equally spaced; values ≤ 0 are left out.
    Log10,
}

/// One axis: its label, scale and range (`None`: the data's, padded a little).
#[derive(Clone, Debug, Default)]
pub struct Axis {
    pub label: String,
    pub scale: Scale,
    /// (low, high) in data units; values outside are drawn at the edge.
    pub range: Option<(f64, f64)>,
}

impl Axis {
    /// A linear axis with the data's range.
    pub fn new(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            ..Axis::default()
        }
    }

    /// The same axis on a log₁₀ scale.
    pub fn log(mut self) -> Axis {
        self.scale = Scale::Log10;
        self
    }

    /// The same axis over `[low, high]`.
    pub fn range(mut self, low: f64, high: f64) -> Axis {
        self.range = Some((low, high));
        self
    }
}

/// A line through points in order; a non-finite coordinate breaks the line there.
#[derive(Clone, Debug)]
pub struct Series {
    /// Shown in the legend; an empty label keeps the series out of it.
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// `None`: the palette's colour for the series' position in the panel.
    pub colour: Option<[u8; 3]>,
    /// Line width in pixels.
    pub width: u32,
    /// Draw a dot at every point.
    pub markers: bool,
}

impl Series {
    /// A 2-pixel line in the palette's colour.
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Series {
        Series {
            label: label.into(),
            points,
            colour: None,
            width: 2,
            markers: false,
        }
    }

    pub fn colour(mut self, colour: [u8; 3]) -> Series {
        self.colour = Some(colour);
        self
    }

    pub fn width(mut self, width: u32) -> Series {
        self.width = width;
        self
    }

    pub fn markers(mut self) -> Series {
        self.markers = true;
        self
    }
}

/// A vertical line across the panel at `x` (a marked value), listed in the legend by its label.
#[derive(Clone, Debug)]
pub struct VerticalLine {
    pub x: f64,
    pub colour: [u8; 3],
    pub label: String,
}

/// One chart: title, axes, series and marked x values.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub vertical_lines: Vec<VerticalLine>,
}

/// Text placed after plotters has drawn the lines; `swatch` puts a filled square of the colour
/// before it (a legend entry).
struct Label {
    x: i32,
    y: i32,
    text: String,
    colour: [u8; 3],
    swatch: bool,
}

/// Draws `panels` side by side, each `panel_size` pixels.
///
/// # Errors
/// [`Error::Draw`] if plotters fails (e.g. a panel too small for its margins).
pub fn render(panels: &[Panel], panel_size: (u32, u32)) -> Result<RgbImage> {
    let count = panels.len().max(1) as u32;
    let (w, h) = (panel_size.0 * count, panel_size.1);
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    let mut labels = Vec::new();
    let mut legends = Vec::new();
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        for (area, panel) in root.split_evenly((1, count as usize)).iter().zip(panels) {
            legends.push(draw_panel(area, panel, &mut labels)?);
        }
        root.present().map_err(draw_error)?;
    }
    let mut image = RgbImage::from_raw(w, h, buffer)
        .ok_or_else(|| Error::Draw("chart buffer has the wrong size".into()))?;
    for legend in &legends {
        clear_box(&mut image, legend);
    }
    for label in labels {
        let (x, y) = (label.x.max(0) as u32, label.y.max(0) as u32);
        draw_text(&mut image, (x, y), &label.text, label.colour, 1);
        if label.swatch && x >= 14 {
            for (dx, dy) in (0..GLYPH).flat_map(|dx| (0..GLYPH).map(move |dy| (dx, dy))) {
                if y + dy < image.height() {
                    image.put_pixel(x - 14 + dx, y + dy, Rgb(label.colour));
                }
            }
        }
    }
    Ok(image)
}

/// The PNG file's bytes of `image`.
///
/// # Errors
/// [`Error::Encode`] if the encoder fails.
pub fn to_png(image: &RgbImage) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(bytes)
}

fn draw_error(e: impl std::fmt::Display) -> Error {
    Error::Draw(e.to_string())
}

/// A value in axis coordinates (log₁₀ of it on a log axis); `None` where it cannot be shown.
fn to_axis(v: f64, scale: Scale) -> Option<f64> {
    match scale {
        Scale::Linear => v.is_finite().then_some(v),
        Scale::Log10 => (v.is_finite() && v > 0.0).then(|| v.log10()),
    }
}

/// The axis range in axis coordinates: the given one, else the data's padded by 4%.
fn axis_range(axis: &Axis, values: impl Iterator<Item = f64>) -> (f64, f64) {
    let given = axis
        .range
        .and_then(|(lo, hi)| Some((to_axis(lo, axis.scale)?, to_axis(hi, axis.scale)?)));
    let (lo, hi) = given.unwrap_or_else(|| {
        let (lo, hi) = values
            .filter_map(|v| to_axis(v, axis.scale))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        if lo > hi {
            return (0.0, 1.0);
        }
        let pad = 0.04 * (hi - lo);
        (lo - pad, hi + pad)
    });
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    }
}

/// Tick positions (axis coordinates) with their labels. A log axis gets powers of ten, or within
/// less than a decade 1, 2, 5 × 10ᵏ (then every digit × 10ᵏ if that still gives fewer than two).
fn axis_ticks(scale: Scale, (lo, hi): (f64, f64), target: usize) -> Vec<(f64, String)> {
    let values: Vec<f64> = match scale {
        Scale::Linear => ticks(lo, hi, target),
        Scale::Log10 => {
            let inside = |mantissas: &[f64]| -> Vec<f64> {
                ((lo.floor() as i64)..=(hi.ceil() as i64))
                    .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e as i32)))
                    .filter(|v| (lo..=hi).contains(&v.log10()))
                    .collect()
            };
            [
                &[1.0][..],
                &[1.0, 2.0, 5.0],
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
            ]
            .iter()
            .map(|m| inside(m))
            .find(|v| v.len() >= 2)
            .unwrap_or_default()
        }
    };
    values
        .into_iter()
        .map(|v| match scale {
            Scale::Linear => (v, format_tick(v)),
            Scale::Log10 => (v.log10(), format_tick(v)),
        })
        .collect()
}

/// A rectangle in pixels: left, top, right, bottom.
type Rect = (i32, i32, i32, i32);

/// Draws one panel; returns the box its legend occupies (cleared before the legend's text).
fn draw_panel(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
    labels: &mut Vec<Label>,
) -> Result<Rect> {
    let xs = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0));
    let x_range = axis_range(&panel.x, xs.chain(panel.vertical_lines.iter().map(|l| l.x)));
    let y_range = axis_range(
        &panel.y,
        panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1)),
    );
    let mut chart = ChartBuilder::on(area)
        .margin_left(MARGIN.left)
        .margin_right(MARGIN.right)
        .margin_top(MARGIN.top)
        .margin_bottom(MARGIN.bottom)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(draw_error)?;
    let (x_ticks, y_ticks) = (
        axis_ticks(panel.x.scale, x_range, 6),
        axis_ticks(panel.y.scale, y_range, 5),
    );
    let at = |x: f64, y: f64| chart.backend_coord(&(x, y));
    let (left, top) = at(x_range.0, y_range.1);
    let (right, bottom) = at(x_range.1, y_range.0);
    let mut text = |x: i32, y: i32, text: String, colour: [u8; 3], swatch: bool| {
        labels.push(Label {
            x,
            y,
            text,
            colour,
            swatch,
        })
    };
    for (t, label) in &x_ticks {
        let (px, _) = at(*t, y_range.0);
        text(
            px - text_width(label, 1) as i32 / 2,
            bottom + 6,
            label.clone(),
            GREY_TEXT,
            false,
        );
    }
    for (t, label) in &y_ticks {
        let (_, py) = at(x_range.0, *t);
        let x = left - 6 - text_width(label, 1) as i32;
        text(x, py - GLYPH as i32 / 2, label.clone(), GREY_TEXT, false);
    }
    let centre = |s: &str| (left + right) / 2 - text_width(s, 1) as i32 / 2;
    text(
        centre(&panel.title),
        top - 32,
        panel.title.clone(),
        BLACK_TEXT,
        false,
    );
    text(
        left - 40,
        top - 16,
        panel.y.label.clone(),
        BLACK_TEXT,
        false,
    );
    text(
        centre(&panel.x.label),
        bottom + 22,
        panel.x.label.clone(),
        BLACK_TEXT,
        false,
    );

    let clamp = |(x, y): (f64, f64)| -> Option<(f64, f64)> {
        let x = to_axis(x, panel.x.scale)?.clamp(x_range.0, x_range.1);
        let y = to_axis(y, panel.y.scale)?.clamp(y_range.0, y_range.1);
        Some((x, y))
    };
    // Where the series' points land, for placing the legend (before drawing borrows the chart).
    let points: Vec<(i32, i32)> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|&p| clamp(p)))
        .map(|(x, y)| at(x, y))
        .collect();
    let grid = x_ticks
        .iter()
        .map(|(t, _)| [(*t, y_range.0), (*t, y_range.1)])
        .chain(
            y_ticks
                .iter()
                .map(|(t, _)| [(x_range.0, *t), (x_range.1, *t)]),
        );
    chart
        .draw_series(grid.map(|line| PathElement::new(line, GRID)))
        .map_err(draw_error)?;
    let frame = [
        (x_range.0, y_range.1),
        (x_range.0, y_range.0),
        (x_range.1, y_range.0),
    ];
    chart
        .draw_series([PathElement::new(frame, BLACK)])
        .map_err(draw_error)?;

    let mut legend: Vec<(String, [u8; 3])> = Vec::new();
    for (index, series) in panel.series.iter().enumerate() {
        let [r, g, b] = series.colour.unwrap_or(PALETTE[index % PALETTE.len()]);
        let style = RGBColor(r, g, b).stroke_width(series.width);
        // Each run of drawable points is its own line.
        let mut pieces: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for point in series.points.iter().map(|&p| clamp(p)) {
            match point {
                Some(p) => pieces.last_mut().expect("never empty").push(p),
                None => pieces.push(Vec::new()),
            }
        }
        chart
            .draw_series(
                pieces
                    .into_iter()
                    .map(|piece| PathElement::new(piece, style)),
            )
            .map_err(draw_error)?;
        if series.markers {
            let dots = series.points.iter().filter_map(|&p| clamp(p));
            chart
                .draw_series(dots.map(|p| Circle::new(p, 3, RGBColor(r, g, b).filled())))
                .map_err(draw_error)?;
        }
        if !series.label.is_empty() {
            legend.push((series.label.clone(), [r, g, b]));
        }
    }
    for line in &panel.vertical_lines {
        let Some(x) = to_axis(line.x, panel.x.scale) else {
            continue;
        };
        let [r, g, b] = line.colour;
        let style = RGBColor(r, g, b).stroke_width(2);
        chart
            .draw_series([PathElement::new([(x, y_range.0), (x, y_range.1)], style)])
            .map_err(draw_error)?;
        if !line.label.is_empty() {
            legend.push((line.label.clone(), line.colour));
        }
    }

    let row = GLYPH as i32 + 6;
    let widest = legend
        .iter()
        .map(|(l, _)| text_width(l, 1))
        .max()
        .unwrap_or(0) as i32;
    if legend.is_empty() {
        return Ok((0, 0, 0, 0));
    }
    let size = (widest + 26, 6 + legend.len() as i32 * row);
    let (box_left, box_top) = legend_corner((left, top, right, bottom), size, &points);
    for (i, (label, colour)) in legend.into_iter().enumerate() {
        text(
            box_left + 20,
            box_top + 6 + i as i32 * row,
            label,
            colour,
            true,
        );
    }
    Ok((box_left, box_top, box_left + size.0, box_top + size.1))
}

/// The top-left corner of a legend box of `size` in one of the plotting area's corners (top right,
/// bottom right, top left, bottom left: the first that hides the fewest of the drawn `points`), so
/// that a rising accuracy curve keeps its last epochs visible.
fn legend_corner(
    (left, top, right, bottom): Rect,
    (width, height): (i32, i32),
    points: &[(i32, i32)],
) -> (i32, i32) {
    let (east, west) = (right - 2 - width, left + 2);
    let (north, south) = (top + 2, bottom - 2 - height);
    let hidden = |&(x0, y0): &(i32, i32)| {
        let inside = |&&(x, y): &&(i32, i32)| {
            (x0..=x0 + width).contains(&x) && (y0..=y0 + height).contains(&y)
        };
        points.iter().filter(inside).count()
    };
    [(east, north), (east, south), (west, north), (west, south)]
        .into_iter()
        .min_by_key(hidden)
        .expect("four corners")
}

/// Paints `rect` white with a grey border, so the legend stays readable over the lines.
fn clear_box(image: &mut RgbImage, &(left, top, right, bottom): &Rect) {
    if right <= left || bottom <= top {
        return;
    }
    for y in top.max(0)..bottom.min(image.height() as i32) {
        for x in left.max(0)..right.min(image.width() as i32) {
            let edge = x == left || x == right - 1 || y == top || y == bottom - 1;
            let colour = if edge {
                [200, 200, 200]
            } else {
                [255, 255, 255]
            };
            image.put_pixel(x as u32, y as u32, Rgb(colour));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(image: &RgbImage, colour: [u8; 3]) -> usize {
        image.pixels().filter(|p| p.0 == colour).count()
    }

    #[test]
    fn draws_each_series_in_its_colour_and_a_legend() {
        let panel = Panel {
            title: "loss".into(),
            x: Axis::new("epoch"),
            y: Axis::new("loss").log(),
            series: vec![
                Series::new("a", vec![(1.0, 2.0), (2.0, 1.0), (3.0, 0.5)]),
                Series::new(
                    "",
                    vec![
                        (1.0, 1.0),
                        (1.5, 0.8),
                        (2.0, f64::NAN),
                        (2.5, 0.3),
                        (3.0, 0.1),
                    ],
                )
                .colour([1, 2, 3]),
            ],
            vertical_lines: vec![VerticalLine {
                x: 2.5,
                colour: [9, 9, 9],
                label: "mark".into(),
            }],
        };
        let image = render(&[panel.clone(), Panel::default()], (320, 240)).unwrap();
        assert_eq!((image.width(), image.height()), (640, 240));
        assert!(
            count(&image, PALETTE[0]) > 100,
            "line and swatch of series a"
        );
        assert!(count(&image, [1, 2, 3]) > 20, "the unlabelled series");
        assert!(count(&image, [9, 9, 9]) > 100, "the vertical line");
        // The right panel is empty: axes and ticks only, no series colour.
        let right = image::imageops::crop_imm(&image, 320, 0, 320, 240).to_image();
        assert_eq!(count(&right, PALETTE[0]), 0);
        assert!(to_png(&image).unwrap().starts_with(b"\x89PNG"));
    }

    #[test]
    fn the_legend_moves_off_the_end_of_a_rising_curve() {
        let area = (0, 0, 400, 300);
        let rising: Vec<(i32, i32)> = (0..=400).map(|x| (x, 300 - x * 3 / 4)).collect();
        let (x, y) = legend_corner(area, (80, 30), &rising);
        assert_eq!((x, y), (318, 268), "bottom right: the curve ends top right");
        let falling: Vec<(i32, i32)> = (0..=400).map(|x| (x, x * 3 / 4)).collect();
        assert_eq!(
            legend_corner(area, (80, 30), &falling),
            (318, 2),
            "top right"
        );
    }

    #[test]
    fn values_a_log_axis_cannot_show_are_left_out_and_ranges_never_collapse() {
        let axis = Axis::new("x").log();
        assert_eq!(axis_range(&axis, [-1.0, 0.0].into_iter()), (0.0, 1.0));
        let (lo, hi) = axis_range(&Axis::new("y"), [3.0, 3.0].into_iter());
        assert!(lo < 3.0 && hi > 3.0);
        let labels = |range| -> Vec<String> {
            axis_ticks(Scale::Log10, range, 5)
                .into_iter()
                .map(|(_, l)| l)
                .collect()
        };
        assert_eq!(labels((-4.2, -0.9)), ["1e-4", "0.001", "0.01", "0.1"]);
        assert_eq!(labels((-1.1, -0.2)), ["0.1", "0.2", "0.5"]);
    }
}
