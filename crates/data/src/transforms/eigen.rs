//! Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: simple and
//! accurate, O(n³) per sweep, meant for the 3×3 RGB covariance and whitening of a few hundred
//! dimensions (it is slow for full 3,072-dimensional CIFAR images).

/// Eigenvalues (descending) and eigenvectors (`vectors[i * n + k]` is component `i` of the `k`-th
/// vector) of the symmetric row-major `n × n` matrix `a`.
pub(crate) fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    debug_assert_eq!(a.len(), n * n);
    let mut a = a.to_vec();
    let mut v = vec![0.0; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    let scale: f64 = a
        .iter()
        .map(|x| x * x)
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-14 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                // The rotation angle that zeroes a[p][q] (Golub and Van Loan, 8.4.2).
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]));
    let values = order.iter().map(|&k| a[k * n + k]).collect();
    let vectors = (0..n)
        .flat_map(|i| order.iter().map(move |&k| (i, k)))
        .map(|(i, k)| v[i * n + k])
        .collect();
    (values, vectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconstructs_the_matrix_from_its_eigenpairs() {
        let n = 4;
        let b: Vec<f64> = (0..n * n)
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0)
            .collect();
        // a = b bᵀ is symmetric positive semi-definite.
        let a: Vec<f64> = (0..n * n)
            .map(|ij| (0..n).map(|k| b[ij / n * n + k] * b[ij % n * n + k]).sum())
            .collect();
        let (values, vectors) = symmetric_eigen(&a, n);
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "{values:?}");
        for i in 0..n {
            for j in 0..n {
                let rebuilt: f64 = (0..n)
                    .map(|k| vectors[i * n + k] * values[k] * vectors[j * n + k])
                    .sum();
                assert!(
                    (rebuilt - a[i * n + j]).abs() < 1e-10,
                    "{rebuilt} vs {}",
                    a[i * n + j]
                );
                let dot: f64 = (0..n)
                    .map(|k| vectors[k * n + i] * vectors[k * n + j])
                    .sum();
                assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-10);
            }
        }
    }
}
