//! The robustness curve: accuracy (%) against ε, one line per attack, one panel per norm (L∞
//! left, L2 right).
use anyhow::Context;
use convkit_attack::{Norm, RobustnessCurve};
use convkit_plot::{Axis, Panel, Series};
use std::path::Path;

const PANEL: (u32, u32) = (560, 400);

/// Draws `curves` to `path`; an attack keeps its colour across panels.
pub fn draw_robustness(curves: &[RobustnessCurve], path: &Path) -> anyhow::Result<()> {
    let panels: Vec<Panel> = [Norm::Linf, Norm::L2]
        .into_iter()
        .filter(|n| curves.iter().any(|c| c.norm == *n))
        .map(|norm| Panel {
            title: format!("accuracy under attack vs eps ({})", norm.as_str()),
            x: Axis::new("eps"),
            y: Axis::new("accuracy %").range(0.0, 100.0),
            series: curves
                .iter()
                .enumerate()
                .filter(|(_, c)| c.norm == norm)
                .map(|(index, curve)| {
                    let points = curve
                        .eps
                        .iter()
                        .zip(curve.accuracies())
                        .map(|(&e, a)| (f64::from(e), 100.0 * a))
                        .collect();
                    let colour = convkit_plot::PALETTE[index % convkit_plot::PALETTE.len()];
                    Series::new(curve.attack.clone(), points)
                        .colour(colour)
                        .markers()
                })
                .collect(),
            vertical_lines: Vec::new(),
        })
        .collect();
    let image = convkit_plot::render(&panels, PANEL)?;
    image
        .save(path)
        .with_context(|| format!("writing {}", path.display()))
}
