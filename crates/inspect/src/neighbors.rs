//! Nearest neighbours in feature space (the course's figure), or in pixel space for contrast.
use convkit_tensor::Tensor;

/// How distances between feature vectors are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Euclidean distance.
    L2,
    /// One minus the cosine of the angle (0 for the same direction).
    Cosine,
}

/// For each row of `queries` (`[Q, F]`), the indices of the `k` nearest rows of `pool`
/// (`[P, F]`) with their distances, nearest first (ties by index).
///
/// # Panics
/// When the feature widths differ (the caller computed both at the same layer).
pub fn nearest(
    queries: &Tensor,
    pool: &Tensor,
    k: usize,
    metric: Metric,
) -> Vec<Vec<(usize, f32)>> {
    let f = queries.dims()[1];
    assert_eq!(
        pool.dims()[1],
        f,
        "queries and pool have the same feature width"
    );
    let (q, p) = (queries.data(), pool.data());
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let pool_norms: Vec<f32> = p.chunks(f).map(norm).collect();
    q.chunks(f)
        .map(|query| {
            let qn = norm(query);
            let mut d: Vec<(usize, f32)> = p
                .chunks(f)
                .enumerate()
                .map(|(i, row)| {
                    let dist = match metric {
                        Metric::L2 => row
                            .iter()
                            .zip(query)
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f32>()
                            .sqrt(),
                        Metric::Cosine => {
                            let dot: f32 = row.iter().zip(query).map(|(a, b)| a * b).sum();
                            1.0 - dot / (qn * pool_norms[i]).max(f32::MIN_POSITIVE)
                        }
                    };
                    (i, dist)
                })
                .collect();
            d.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
            d.truncate(k);
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_by_l2_and_cosine() {
        let pool = Tensor::from_vec(vec![0.0, 1.0, 10.0, 0.0, 3.0, 3.0], [3, 2]).unwrap();
        let query = Tensor::from_vec(vec![1.0, 0.0], [1, 2]).unwrap();
        let by_l2 = nearest(&query, &pool, 2, Metric::L2);
        assert_eq!(by_l2[0][0].0, 0); // distance √2 beats √13 and 9
        assert_eq!(by_l2[0][1].0, 2);
        let by_angle = nearest(&query, &pool, 3, Metric::Cosine);
        let order: Vec<usize> = by_angle[0].iter().map(|n| n.0).collect();
        assert_eq!(order, [1, 2, 0]);
        assert!(by_angle[0][0].1.abs() < 1e-6);
    }
}
