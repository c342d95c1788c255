//! Charts for convkit's reports (training curves, run comparisons, the learning-rate finder,
//! robustness curves) as PNG files. plotters draws the lines; titles, tick labels and legends are
//! drawn with an 8×8 bitmap font, so nothing depends on the fonts installed on the machine.
mod chart;
mod error;
mod text;
mod ticks;

pub use chart::{render, to_png, Axis, Panel, Scale, Series, VerticalLine, PALETTE};
pub use error::{Error, Result};
pub use text::{draw_text, text_width, GLYPH};
pub use ticks::{format_tick, ticks};
