//! The robustness curves as console tables (one per norm: ε down, attacks across) and as a CSV.
use anyhow::Context;
use convkit_attack::{Norm, RobustnessCurve};
use std::fmt::Write as _;
use std::path::Path;

/// Prints, for each norm used, accuracy (%) under every attack of that norm at each ε.
pub fn print_tables(curves: &[RobustnessCurve]) {
    for norm in [Norm::Linf, Norm::L2] {
        let of_norm: Vec<&RobustnessCurve> = curves.iter().filter(|c| c.norm == norm).collect();
        let Some(first) = of_norm.first() else {
            continue;
        };
        let mut table = format!("{:>8}", format!("ε ({})", norm.as_str()));
        for curve in &of_norm {
            let _ = write!(table, " {:>12}", curve.attack);
        }
        for (i, eps) in first.eps.iter().enumerate() {
            let _ = write!(table, "\n{eps:>8}");
            for curve in &of_norm {
                let _ = write!(table, " {:>11.2}%", 100.0 * curve.accuracies()[i]);
            }
        }
        println!("robust accuracy on {} images:\n{table}", first.total);
    }
}

/// `attack,norm,eps,correct,total,accuracy`, one row per attack and ε.
pub fn write_csv(curves: &[RobustnessCurve], path: &Path) -> anyhow::Result<()> {
    let mut csv = String::from("attack,norm,eps,correct,total,accuracy\n");
    for curve in curves {
        for ((eps, correct), accuracy) in
            curve.eps.iter().zip(&curve.correct).zip(curve.accuracies())
        {
            let _ = writeln!(
                csv,
                "{},{},{eps},{correct},{},{accuracy:.6}",
                curve.attack,
                curve.norm.as_str(),
                curve.total
            );
        }
    }
    std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))
}
