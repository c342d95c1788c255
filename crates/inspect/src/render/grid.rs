//! Pictures side by side: a grid of captioned tiles, a colour bar, horizontal stacking.
use super::colormap::Colormap;
use convkit_plot::{draw_text, text_width, GLYPH};
use image::{imageops, Rgb, RgbImage};

const BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);
const INK: [u8; 3] = [20, 20, 20];
const PAD: u32 = 4;

/// A grid of tiles, each enlarged by `zoom` (nearest neighbour, so pixels stay visible), with a
/// caption line under each and an optional title on top.
pub struct Grid {
    tiles: Vec<(RgbImage, String)>,
    columns: usize,
    zoom: u32,
    title: Option<String>,
}

impl Grid {
    /// An empty grid of `columns` columns (at least 1).
    pub fn new(columns: usize, zoom: u32) -> Grid {
        Grid {
            tiles: Vec::new(),
            columns: columns.max(1),
            zoom: zoom.max(1),
            title: None,
        }
    }

    pub fn with_title(mut self, title: impl Into<String>) -> Grid {
        self.title = Some(title.into());
        self
    }

    pub fn push(&mut self, tile: RgbImage, caption: impl Into<String>) {
        self.tiles.push((tile, caption.into()));
    }

    /// The grid as one picture: white background, tiles left to right then top to bottom.
    pub fn render(&self) -> RgbImage {
        let tile_w = self.tiles.iter().map(|(t, _)| t.width()).max().unwrap_or(1) * self.zoom;
        let tile_h = self
            .tiles
            .iter()
            .map(|(t, _)| t.height())
            .max()
            .unwrap_or(1)
            * self.zoom;
        let caption_h = if self.tiles.iter().any(|(_, c)| !c.is_empty()) {
            GLYPH + 2
        } else {
            0
        };
        let longest = self
            .tiles
            .iter()
            .map(|(_, c)| text_width(c, 1))
            .max()
            .unwrap_or(0);
        let cell_w = tile_w.max(longest) + PAD;
        let cell_h = tile_h + caption_h + PAD;
        let cols = self.columns.min(self.tiles.len()).max(1) as u32;
        let rows = self.tiles.len().div_ceil(self.columns).max(1) as u32;
        let title_h = self.title.as_ref().map_or(0, |_| GLYPH + 2 * PAD);
        let width = (cols * cell_w + PAD).max(
            self.title
                .as_ref()
                .map_or(0, |t| text_width(t, 1) + 2 * PAD),
        );
        let mut out = RgbImage::from_pixel(width, rows * cell_h + PAD + title_h, BACKGROUND);
        if let Some(title) = &self.title {
            draw_text(&mut out, (PAD, PAD), title, INK, 1);
        }
        for (i, (tile, caption)) in self.tiles.iter().enumerate() {
            let (col, row) = ((i % self.columns) as u32, (i / self.columns) as u32);
            let (x, y) = (PAD + col * cell_w, title_h + PAD + row * cell_h);
            let big = imageops::resize(
                tile,
                tile.width() * self.zoom,
                tile.height() * self.zoom,
                imageops::FilterType::Nearest,
            );
            imageops::overlay(&mut out, &big, i64::from(x), i64::from(y));
            draw_text(&mut out, (x, y + tile_h + 1), caption, INK, 1);
        }
        out
    }
}

/// A vertical colour bar `height` pixels tall for values `lo` (bottom) to `hi` (top), labelled.
pub fn colorbar(height: u32, colormap: Colormap, lo: f32, hi: f32) -> RgbImage {
    let labels = [format!("{hi:.3}"), format!("{lo:.3}")];
    let label_w = labels.iter().map(|l| text_width(l, 1)).max().unwrap_or(0);
    let bar_h = height.max(3 * GLYPH);
    let mut out = RgbImage::from_pixel(16 + label_w + 2 * PAD, bar_h, BACKGROUND);
    for y in GLYPH..bar_h - GLYPH {
        let t = 1.0 - (y - GLYPH) as f32 / (bar_h - 2 * GLYPH - 1).max(1) as f32;
        for x in PAD..PAD + 12 {
            out.put_pixel(x, y, Rgb(colormap.color(t)));
        }
    }
    draw_text(&mut out, (PAD + 14, GLYPH), &labels[0], INK, 1);
    draw_text(&mut out, (PAD + 14, bar_h - 2 * GLYPH), &labels[1], INK, 1);
    out
}

/// `left` and `right` side by side on a white background, top-aligned.
pub fn hstack(left: &RgbImage, right: &RgbImage) -> RgbImage {
    let mut out = RgbImage::from_pixel(
        left.width() + right.width(),
        left.height().max(right.height()),
        BACKGROUND,
    );
    imageops::overlay(&mut out, left, 0, 0);
    imageops::overlay(&mut out, right, i64::from(left.width()), 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_places_zoomed_tiles_in_rows() {
        let mut grid = Grid::new(2, 3);
        for v in [10u8, 20, 30] {
            grid.push(RgbImage::from_pixel(4, 4, Rgb([v, v, v])), "");
        }
        let picture = grid.render();
        // Two columns of 12-pixel tiles with padding; two rows.
        assert_eq!(
            picture.dimensions(),
            (PAD + 2 * (12 + PAD), PAD + 2 * (12 + PAD))
        );
        assert_eq!(picture.get_pixel(PAD, PAD).0, [10, 10, 10]);
        assert_eq!(picture.get_pixel(PAD + 12 + PAD, PAD).0, [20, 20, 20]);
        assert_eq!(picture.get_pixel(PAD, PAD + 12 + PAD + 11).0, [30, 30, 30]);
        let bar = colorbar(64, Colormap::Gray, -1.0, 1.0);
        assert_eq!(bar.height(), 64);
        assert_eq!(
            hstack(&picture, &bar).width(),
            picture.width() + bar.width()
        );
    }
}
