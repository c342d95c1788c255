//! Text in PNGs without system fonts: ASCII drawn from the public-domain 8×8 bitmap font.
use font8x8::legacy::BASIC_LEGACY;
use image::{Rgb, RgbImage};

/// Height (and width) of one character at scale 1, in pixels.
pub const GLYPH: u32 = 8;

/// Draws `text` with its top-left corner at (x, y), each font pixel a `scale`×`scale` square;
/// characters outside ASCII show as '?', and whatever falls outside the image is cut off.
pub fn draw_text(image: &mut RgbImage, x: u32, y: u32, text: &str, colour: Rgb<u8>, scale: u32) {
    for (k, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        let left = x + k as u32 * GLYPH * scale;
        for (row, bits) in BASIC_LEGACY[code].iter().enumerate() {
            for column in 0..GLYPH {
                // Bit 0 is the leftmost pixel of the row.
                if bits >> column & 1 == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (left + column * scale + dx, y + row as u32 * scale + dy);
                        if px < image.width() && py < image.height() {
                            image.put_pixel(px, py, colour);
                        }
                    }
                }
            }
        }
    }
}

/// Width of `text` in pixels at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * GLYPH * scale
}

/// `text` cut to at most `chars` characters.
pub fn fit(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_mark_pixels_inside_their_cell_only() {
        let mut image = RgbImage::new(20, 10);
        draw_text(&mut image, 2, 1, "1", Rgb([255, 0, 0]), 1);
        let marked: Vec<(u32, u32)> = image
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [255, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(marked.len() > 5, "'1' drew {} pixels", marked.len());
        assert!(marked
            .iter()
            .all(|&(x, y)| (2..10).contains(&x) && (1..9).contains(&y)));
        assert_eq!(text_width("ab", 2), 32);
        assert_eq!(fit("airplane", 3), "air");
    }
}
