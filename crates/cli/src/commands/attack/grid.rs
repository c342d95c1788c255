//! The example grid: one row per test image; the clean image, then for each attack the
//! perturbation (amplified so its largest change is full contrast; grey is no change) and the
//! adversarial image, each captioned with the predicted class and its confidence (red: wrong).
use anyhow::Context;
use convkit_attack::{AttackedBatch, Predictions};
use convkit_plot::{draw_text, GLYPH};
use convkit_tensor::Tensor;
use image::{Rgb, RgbImage};
use std::path::Path;

const GAP: u32 = 6;
/// Cells are zoomed to at least this width, so that a 12-character caption fits under them.
const MIN_CELL: u32 = 96;
const CAPTION: u32 = GLYPH + 6;
const HEADER: u32 = 2 * (GLYPH + 3) + 4;
const BLACK: [u8; 3] = [0, 0, 0];
const WRONG: [u8; 3] = [200, 0, 0];
const RIGHT: [u8; 3] = [0, 120, 0];

/// `text` cut to at most `chars` characters.
fn fit(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// One attack's images at one ε, for the first rows of the grid.
pub struct GridColumn {
    attack: String,
    eps: f32,
    adversarial: Tensor,
    predictions: Predictions,
}

impl GridColumn {
    /// The first `rows` images of `batch` attacked by `attack`.
    pub fn new(attack: String, batch: &AttackedBatch, rows: usize) -> anyhow::Result<Self> {
        let rows = rows.min(batch.adversarial.dims()[0]);
        Ok(GridColumn {
            attack,
            eps: batch.eps,
            adversarial: batch.adversarial.narrow(0, 0, rows)?,
            predictions: Predictions {
                classes: batch.predictions.classes[..rows].to_vec(),
                confidences: batch.predictions.confidences[..rows].to_vec(),
            },
        })
    }
}

/// The clean images with their labels and predictions, and a column per attack.
#[derive(Default)]
pub struct GridExamples {
    clean: Option<(Tensor, Vec<usize>, Predictions)>,
    columns: Vec<GridColumn>,
}

impl GridExamples {
    pub fn set_clean(&mut self, images: Tensor, labels: Vec<usize>, predictions: Predictions) {
        self.clean = Some((images, labels, predictions));
    }

    pub fn add_column(&mut self, column: GridColumn) {
        self.columns.push(column);
    }
}

/// Draws `examples` to `path` (class names from `class_names`, else class numbers).
pub fn draw_grid(
    examples: &GridExamples,
    class_names: &[String],
    path: &Path,
) -> anyhow::Result<()> {
    let Some((clean, labels, clean_predictions)) = &examples.clean else {
        anyhow::bail!("no example to draw");
    };
    let [rows, channels, height, width] = clean
        .dims()
        .try_into()
        .context("images must be [N, C, H, W]")?;
    let zoom = MIN_CELL.div_ceil(height.max(width) as u32).max(1);
    let (cell_w, cell_h) = (width as u32 * zoom, height as u32 * zoom);
    let chars = (cell_w / GLYPH) as usize;
    let columns = 1 + 2 * examples.columns.len() as u32;
    let mut grid = RgbImage::from_pixel(
        GAP + columns * (cell_w + GAP),
        HEADER + rows as u32 * (cell_h + CAPTION + GAP),
        Rgb([255, 255, 255]),
    );
    let label = |class: usize, confidence: f32| {
        let name = class_names
            .get(class)
            .cloned()
            .unwrap_or_else(|| class.to_string());
        let percent = format!(" {:.0}%", 100.0 * confidence);
        format!(
            "{}{percent}",
            fit(&name, chars.saturating_sub(percent.len()))
        )
    };
    let clean_pixels = clean.to_vec();
    let image_len = channels * height * width;
    let cell = Cell {
        channels,
        height,
        width,
        zoom,
    };
    draw_text(&mut grid, (GAP, 4), "clean", BLACK, 1);
    for row in 0..rows {
        let top = HEADER + row as u32 * (cell_h + CAPTION + GAP);
        let clean_image = &clean_pixels[row * image_len..(row + 1) * image_len];
        cell.paste(&mut grid, GAP, top, clean_image);
        let colour = |class: usize| if class == labels[row] { RIGHT } else { WRONG };
        let (class, confidence) = (
            clean_predictions.classes[row],
            clean_predictions.confidences[row],
        );
        draw_text(
            &mut grid,
            (GAP, top + cell_h + 3),
            &label(class, confidence),
            colour(class),
            1,
        );
        for (k, column) in examples.columns.iter().enumerate() {
            let left = GAP + (1 + 2 * k as u32) * (cell_w + GAP);
            let adversarial = column.adversarial.to_vec();
            let adversarial = &adversarial[row * image_len..(row + 1) * image_len];
            let (perturbation, amplification) = amplified_perturbation(clean_image, adversarial);
            cell.paste(&mut grid, left, top, &perturbation);
            let amplified = match amplification {
                Some(factor) => format!("x{factor:.1}"),
                None => "no change".to_string(),
            };
            draw_text(&mut grid, (left, top + cell_h + 3), &amplified, BLACK, 1);
            cell.paste(&mut grid, left + cell_w + GAP, top, adversarial);
            let (class, confidence) = (
                column.predictions.classes[row],
                column.predictions.confidences[row],
            );
            let caption = label(class, confidence);
            draw_text(
                &mut grid,
                (left + cell_w + GAP, top + cell_h + 3),
                &caption,
                colour(class),
                1,
            );
        }
    }
    for (k, column) in examples.columns.iter().enumerate() {
        let left = GAP + (1 + 2 * k as u32) * (cell_w + GAP);
        let eps = fit(&format!("eps {}", column.eps), chars);
        draw_text(&mut grid, (left, 4), "delta", BLACK, 1);
        draw_text(&mut grid, (left, 4 + GLYPH + 3), &eps, BLACK, 1);
        draw_text(
            &mut grid,
            (left + cell_w + GAP, 4),
            &fit(&column.attack, chars),
            BLACK,
            1,
        );
        draw_text(
            &mut grid,
            (left + cell_w + GAP, 4 + GLYPH + 3),
            &eps,
            BLACK,
            1,
        );
    }
    grid.save(path)
        .with_context(|| format!("writing {}", path.display()))
}

/// The change from `clean` to `adversarial` as an image in [0, 1] (0.5 where nothing changed, the
/// largest change at 0 or 1) and the amplification that took (`None` when nothing changed).
fn amplified_perturbation(clean: &[f32], adversarial: &[f32]) -> (Vec<f32>, Option<f32>) {
    let largest = adversarial
        .iter()
        .zip(clean)
        .fold(0.0f32, |m, (a, c)| m.max((a - c).abs()));
    if largest == 0.0 {
        return (vec![0.5; clean.len()], None);
    }
    let factor = 0.5 / largest;
    let image = adversarial
        .iter()
        .zip(clean)
        .map(|(a, c)| 0.5 + (a - c) * factor)
        .collect();
    (image, Some(factor))
}

/// How one image is laid out and magnified in the grid.
struct Cell {
    channels: usize,
    height: usize,
    width: usize,
    zoom: u32,
}

impl Cell {
    /// Pastes `pixels` (`[C, H, W]` in [0, 1]; grey for one channel, the first three as RGB
    /// otherwise) with its top-left corner at (left, top).
    fn paste(&self, grid: &mut RgbImage, left: u32, top: u32, pixels: &[f32]) {
        let plane = self.height * self.width;
        let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        for y in 0..self.height {
            for x in 0..self.width {
                let at =
                    |c: usize| byte(pixels[c.min(self.channels - 1) * plane + y * self.width + x]);
                let colour = if self.channels >= 3 {
                    Rgb([at(0), at(1), at(2)])
                } else {
                    Rgb([at(0); 3])
                };
                for dy in 0..self.zoom {
                    for dx in 0..self.zoom {
                        let (px, py) = (
                            left + x as u32 * self.zoom + dx,
                            top + y as u32 * self.zoom + dy,
                        );
                        grid.put_pixel(px, py, colour);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_perturbation_is_grey_where_nothing_changed_and_full_contrast_at_its_largest() {
        let (image, factor) = amplified_perturbation(&[0.2, 0.5, 0.9], &[0.3, 0.5, 0.85]);
        assert!((factor.unwrap() - 5.0).abs() < 1e-4, "{factor:?}");
        let expected = [1.0, 0.5, 0.25];
        assert!(
            image
                .iter()
                .zip(expected)
                .all(|(a, e)| (a - e).abs() < 1e-5),
            "{image:?}"
        );
        assert_eq!(amplified_perturbation(&[0.1], &[0.1]), (vec![0.5], None));
    }
}
