//! A scatter plot of 2-D points coloured by class, with a legend.
use convkit_plot::{draw_text, text_width, GLYPH};
use image::{Rgb, RgbImage};

/// Ten distinguishable colours, repeated for more classes.
const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// The colour of class `c`.
pub fn class_color(c: usize) -> [u8; 3] {
    PALETTE[c % PALETTE.len()]
}

/// `points` (`[x, y]` pairs) in a `size`×`size` plot, each a small square in its class's colour,
/// with a legend of `class_names` on the right.
pub fn scatter(
    points: &[[f32; 2]],
    classes: &[usize],
    class_names: &[String],
    size: u32,
) -> RgbImage {
    let legend_w = class_names
        .iter()
        .map(|n| text_width(n, 1))
        .max()
        .unwrap_or(0)
        + 3 * GLYPH;
    let mut out = RgbImage::from_pixel(size + legend_w, size, Rgb([255, 255, 255]));
    let (lo, hi) = points.iter().fold(
        ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]),
        |(lo, hi), p| {
            (
                [lo[0].min(p[0]), lo[1].min(p[1])],
                [hi[0].max(p[0]), hi[1].max(p[1])],
            )
        },
    );
    let margin = 6.0;
    let scale = |v: f32, a: usize| {
        let span = (hi[a] - lo[a]).max(f32::MIN_POSITIVE);
        (margin + (v - lo[a]) / span * (size as f32 - 2.0 * margin)) as u32
    };
    for (p, &c) in points.iter().zip(classes) {
        // y grows upwards in the plot.
        let (x, y) = (scale(p[0], 0), size - 1 - scale(p[1], 1));
        for dy in 0..2 {
            for dx in 0..2 {
                if x + dx < size && y + dy < size {
                    out.put_pixel(x + dx, y + dy, Rgb(class_color(c)));
                }
            }
        }
    }
    for (c, name) in class_names.iter().enumerate() {
        let y = GLYPH + c as u32 * (GLYPH + 4);
        for dy in 0..GLYPH {
            for dx in 0..GLYPH {
                out.put_pixel(size + dx, y + dy, Rgb(class_color(c)));
            }
        }
        draw_text(&mut out, (size + GLYPH + 4, y), name, [20, 20, 20], 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_land_in_their_corner_with_their_colour() {
        let names = vec!["a".to_string(), "b".to_string()];
        let plot = scatter(&[[0.0, 0.0], [1.0, 1.0]], &[0, 1], &names, 100);
        // Class 0 at the bottom left, class 1 at the top right.
        assert_eq!(plot.get_pixel(6, 93).0, class_color(0));
        assert_eq!(plot.get_pixel(94, 6).0, class_color(1));
        assert!(plot.width() > 100);
    }
}
