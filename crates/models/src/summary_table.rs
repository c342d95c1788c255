//! The printed form of a [`Summary`]: a table with one row per layer, then the totals.
use crate::summary::{LastConvField, Summary};
use std::fmt;

/// `138357544` → `138,357,544`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in binary units with two decimals: `512 B`, `61.25 KiB`, `12.25 MiB`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.2} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.2} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.2} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// A count with an SI suffix, three significant figures (`1.82 G`, `86.7 M`).
pub fn si(n: u64) -> String {
    let (value, unit) = match n {
        n if n >= 1_000_000_000 => (n as f64 / 1e9, " G"),
        n if n >= 1_000_000 => (n as f64 / 1e6, " M"),
        n if n >= 1_000 => (n as f64 / 1e3, " K"),
        n => return n.to_string(),
    };
    let decimals = 2 - (value.log10().floor() as usize).min(2);
    format!("{value:.decimals$}{unit}")
}

fn dims(d: &[usize]) -> String {
    format!(
        "[{}]",
        d.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .layers
            .iter()
            .map(|l| format!("{} ({})", l.name, l.kind))
            .collect();
        let width = names.iter().map(String::len).max().unwrap_or(0).max(12);
        let header = format!(
            "{:<width$}  {:>18}  {:>13}  {:>15}  {:>12}",
            "Layer (type)", "Output shape", "Parameters", "Mult-adds", "Activations"
        );
        writeln!(f, "{header}")?;
        writeln!(f, "{}", "=".repeat(header.len()))?;
        for (name, l) in names.iter().zip(&self.layers) {
            writeln!(
                f,
                "{name:<width$}  {:>18}  {:>13}  {:>15}  {:>12}",
                dims(&l.output_shape),
                thousands(l.parameters as u64),
                thousands(l.macs),
                bytes(l.activation_bytes)
            )?;
        }
        writeln!(f, "{}", "=".repeat(header.len()))?;
        writeln!(
            f,
            "Input: {} → output {}",
            dims(&self.input),
            dims(&self.output_shape)
        )?;
        writeln!(
            f,
            "Total parameters: {}",
            thousands(self.total_parameters as u64)
        )?;
        writeln!(
            f,
            "Trainable parameters: {}",
            thousands(self.trainable_parameters as u64)
        )?;
        writeln!(
            f,
            "Multiply-adds per image: {} ({}; conv and linear layers, bias not counted)",
            thousands(self.total_macs),
            si(self.total_macs)
        )?;
        writeln!(
            f,
            "Forward activation memory per image: {} ({} values; every layer's output, 4 bytes each)",
            bytes(self.activation_bytes),
            thousands(self.activation_bytes / 4)
        )?;
        match &self.receptive_field {
            LastConvField::Found { layer, field } => writeln!(
                f,
                "Receptive field of the last conv layer ({layer}): {}",
                field
                    .iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("×")
            ),
            LastConvField::NotAvailable(why) => {
                writeln!(f, "Receptive field of the last conv layer: n/a ({why})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(138_357_544), "138,357,544");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(si(1_814_073_344), "1.81 G");
        assert_eq!(si(86_704_128), "86.7 M");
        assert_eq!(si(512), "512");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(62_720), "61.25 KiB");
        assert_eq!(bytes(4 * 28_676_072), "109.39 MiB");
    }
}
