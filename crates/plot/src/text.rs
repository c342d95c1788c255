//! Captions drawn with the 8×8 bitmap font of the `font8x8` crate (ASCII; other characters show
//! as `?`).
use image::{Rgb, RgbImage};

/// Side of a glyph cell at scale 1, in pixels.
pub const GLYPH: u32 = 8;

/// Width of `text` at `scale`, in pixels.
pub fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * GLYPH * scale
}

/// Draws `text` with its top-left corner at `(x, y)`, each font pixel `scale`×`scale`; what falls
/// outside the picture is clipped.
pub fn draw_text(
    picture: &mut RgbImage,
    (x, y): (u32, u32),
    text: &str,
    color: [u8; 3],
    scale: u32,
) {
    for (i, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = font8x8::legacy::BASIC_LEGACY[code];
        let left = x + i as u32 * GLYPH * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..GLYPH {
                // Bit 0 is the leftmost pixel of the row.
                if bits >> col & 1 == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (left + col * scale + dx, y + row as u32 * scale + dy);
                        if px < picture.width() && py < picture.height() {
                            picture.put_pixel(px, py, Rgb(color));
                        }
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
    fn draws_inside_its_box_and_clips() {
        let mut picture = RgbImage::new(20, 10);
        draw_text(&mut picture, (0, 0), "1", [255, 0, 0], 1);
        let lit: Vec<(u32, u32)> = picture
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [255, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(!lit.is_empty() && lit.iter().all(|&(x, y)| x < 8 && y < 8));
        assert_eq!(text_width("abc", 2), 48);
        draw_text(&mut picture, (15, 5), "WW", [0, 255, 0], 1); // clipped, no panic
    }
}
