//! Principal component projection, t-SNE's first step for wide features.
use crate::error::Result;
use convkit_tensor::{seeded_rng, Tensor};

/// The rows of `data` (`[N, D]`), centred, projected on their `k` principal directions: `[N, k]`
/// (`k` at most D). Subspace iteration from a seeded random start, deterministic.
///
/// # Errors
/// A tensor op's error (a malformed input).
pub fn pca(data: &Tensor, k: usize) -> Result<Tensor> {
    let (n, d) = (data.dims()[0], data.dims()[1]);
    let k = k.min(d);
    let mut mean = vec![0f32; d];
    for row in data.data().chunks(d) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, v)| *m += v / n as f32);
    }
    let centred: Vec<f32> = data
        .data()
        .chunks(d)
        .flat_map(|row| {
            row.iter()
                .zip(&mean)
                .map(|(v, m)| v - m)
                .collect::<Vec<_>>()
        })
        .collect();
    let x = Tensor::from_vec(centred, [n, d])?;
    let xt = x.transpose()?;
    let mut basis = orthonormal(Tensor::randn([d, k], &mut seeded_rng(0)));
    for _ in 0..SUBSPACE_ITERATIONS {
        basis = orthonormal(xt.matmul(&x.matmul(&basis)?)?);
    }
    Ok(x.matmul(&basis)?)
}

const SUBSPACE_ITERATIONS: usize = 12;

/// The columns of `m` (`[d, k]`) made orthonormal by modified Gram-Schmidt (a column that
/// vanishes stays zero).
fn orthonormal(m: Tensor) -> Tensor {
    let (d, k) = (m.dims()[0], m.dims()[1]);
    let mut cols: Vec<Vec<f64>> = (0..k)
        .map(|c| (0..d).map(|r| f64::from(m.data()[r * k + c])).collect())
        .collect();
    for c in 0..k {
        for prev in 0..c {
            let dot: f64 = cols[c].iter().zip(&cols[prev]).map(|(a, b)| a * b).sum();
            let (head, tail) = cols.split_at_mut(c);
            tail[0]
                .iter_mut()
                .zip(&head[prev])
                .for_each(|(a, b)| *a -= dot * b);
        }
        let norm = cols[c].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 0.0 {
            cols[c].iter_mut().for_each(|v| *v /= norm);
        }
    }
    let data = (0..d)
        .flat_map(|r| cols.iter().map(move |col| col[r] as f32))
        .collect();
    Tensor::from_vec(data, [d, k]).expect("d·k values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_direction_of_largest_spread() {
        // Points along (3, 4)/5 with a little noise across it.
        let mut rng = seeded_rng(1);
        let t = Tensor::randn([200], &mut rng).to_vec();
        let e = Tensor::randn([200], &mut rng).to_vec();
        let data: Vec<f32> = t
            .iter()
            .zip(&e)
            .flat_map(|(t, e)| [3.0 * t - 0.4 * e * 0.1, 4.0 * t + 0.3 * e * 0.1])
            .collect();
        let x = Tensor::from_vec(data, [200, 2]).unwrap();
        let projected = pca(&x, 1).unwrap().to_vec();
        // The projection keeps almost all the variance: |projection| ≈ 5·|t|.
        let var: f32 = projected.iter().map(|v| v * v).sum::<f32>() / 200.0;
        let var_t: f32 = t.iter().map(|v| v * v).sum::<f32>() / 200.0;
        assert!(
            (var / (25.0 * var_t) - 1.0).abs() < 0.02,
            "{var} vs {}",
            25.0 * var_t
        );
    }
}
