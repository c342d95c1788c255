//! Colour maps: a value in [0, 1] to a colour, by linear interpolation between a few stops.

/// The colour maps of the pictures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colormap {
    /// Black → purple → red → yellow → white, for magnitudes (heat maps, activations).
    Heat,
    /// Blue → white → red, for signed values centred on 0.5 (filter weights).
    Diverging,
    /// Black → white.
    Gray,
}

const HEAT: [[u8; 3]; 5] = [
    [0, 0, 4],
    [110, 20, 130],
    [225, 60, 40],
    [250, 190, 30],
    [252, 255, 210],
];
const DIVERGING: [[u8; 3]; 3] = [[40, 80, 200], [245, 245, 245], [200, 40, 40]];
const GRAY: [[u8; 3]; 2] = [[0, 0, 0], [255, 255, 255]];

impl Colormap {
    /// The colour of `t` (clamped to [0, 1]; NaN shows as the low end).
    pub fn color(self, t: f32) -> [u8; 3] {
        let stops: &[[u8; 3]] = match self {
            Colormap::Heat => &HEAT,
            Colormap::Diverging => &DIVERGING,
            Colormap::Gray => &GRAY,
        };
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let pos = t * (stops.len() - 1) as f32;
        let i = (pos as usize).min(stops.len() - 2);
        let f = pos - i as f32;
        std::array::from_fn(|c| {
            let (a, b) = (f32::from(stops[i][c]), f32::from(stops[i + 1][c]));
            (a + (b - a) * f).round() as u8
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_middle() {
        assert_eq!(Colormap::Gray.color(0.0), [0, 0, 0]);
        assert_eq!(Colormap::Gray.color(2.0), [255, 255, 255]);
        assert_eq!(Colormap::Gray.color(0.5), [128, 128, 128]);
        assert_eq!(Colormap::Diverging.color(0.5), [245, 245, 245]);
        assert_eq!(Colormap::Heat.color(f32::NAN), [0, 0, 4]);
    }
}
