//! A confusion matrix: counts of (true class, predicted class) pairs, printed with per-class recall.
use std::fmt;

/// Counts of (true class, predicted class) pairs.
pub struct ConfusionMatrix {
    class_names: Vec<String>,
    counts: Vec<u64>,
}

impl ConfusionMatrix {
    pub fn new(class_names: Vec<String>) -> Self {
        let n = class_names.len();
        ConfusionMatrix {
            class_names,
            counts: vec![0; n * n],
        }
    }

    pub fn add(&mut self, truth: usize, predicted: usize) {
        let n = self.class_names.len();
        self.counts[truth * n + predicted] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn correct(&self) -> u64 {
        let n = self.class_names.len();
        (0..n).map(|i| self.counts[i * n + i]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.total().max(1) as f64
    }
}

/// Rows are true classes, columns predicted ones, with per-class recall at the end of each row.
impl fmt::Display for ConfusionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.class_names.len();
        let width = self
            .counts
            .iter()
            .max()
            .map_or(1, |m| m.to_string().len())
            .max(4);
        let label_width = self
            .class_names
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(1)
            .max(10);
        write!(f, "{:>label_width$} ", "true\\pred")?;
        for name in &self.class_names {
            write!(f, " {:>width$.width$}", name)?;
        }
        writeln!(f, "  recall")?;
        for (i, name) in self.class_names.iter().enumerate() {
            write!(f, "{name:>label_width$} ")?;
            let row = &self.counts[i * n..(i + 1) * n];
            for count in row {
                write!(f, " {count:>width$}")?;
            }
            let total: u64 = row.iter().sum();
            writeln!(f, "  {:>5.1}%", 100.0 * row[i] as f64 / total.max(1) as f64)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_matrix_counts_and_prints() {
        let mut m = ConfusionMatrix::new(vec!["cat".into(), "dog".into()]);
        for (t, p) in [(0, 0), (0, 1), (1, 1), (1, 1)] {
            m.add(t, p);
        }
        assert_eq!((m.correct(), m.total()), (3, 4));
        assert!((m.accuracy() - 0.75).abs() < 1e-12);
        let text = m.to_string();
        assert!(text.contains("cat     1    1   50.0%"), "{text}");
        assert!(text.contains("dog     0    2  100.0%"), "{text}");
    }
}
