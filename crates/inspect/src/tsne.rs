//! t-SNE (van der Maaten & Hinton 2008) in two dimensions with the Barnes-Hut approximation of the
//! repulsive forces (van der Maaten 2014): affinities from the `3·perplexity` nearest neighbours,
//! a quadtree over the embedding each iteration. Inputs wider than 50 features are first projected
//! on their 50 principal directions, as the reference implementations do.
use crate::error::{Error, Result};
use crate::pca::pca;
use convkit_tensor::{seeded_rng, Tensor};
use rayon::prelude::*;

/// t-SNE's settings, with the usual defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TsneConfig {
    /// The effective number of neighbours each point's affinities cover: 30.
    pub perplexity: f32,
    /// Gradient-descent iterations: 1000.
    pub iterations: usize,
    /// Step size; `None`: `max(N / 48, 50)` (scikit-learn's "auto", N / early exaggeration / 4).
    pub learning_rate: Option<f32>,
    /// Barnes-Hut accuracy (0 is exact, larger is faster and coarser): 0.5.
    pub theta: f32,
    /// Seed of the initial embedding.
    pub seed: u64,
}

impl Default for TsneConfig {
    fn default() -> Self {
        TsneConfig {
            perplexity: 30.0,
            iterations: 1000,
            learning_rate: None,
            theta: 0.5,
            seed: 0,
        }
    }
}

/// The iterations with early exaggeration (affinities ×12) and the smaller momentum (0.5 → 0.8).
const EXAGGERATED: usize = 250;
const EXAGGERATION: f32 = 12.0;
const PCA_DIMS: usize = 50;

/// The 2-D t-SNE embedding `[N, 2]` of the rows of `data` (`[N, D]`). Deterministic for a seed.
///
/// # Errors
/// Fewer than 4 points, or a perplexity that is not positive or leaves fewer than 3·perplexity
/// neighbours (`N − 1 < 3·perplexity`).
pub fn tsne(data: &Tensor, config: &TsneConfig) -> Result<Tensor> {
    let &[n, d] = data.dims() else {
        return Err(Error::Shape {
            what: "t-SNE",
            expected: "points as rows [N, D]",
            dims: data.dims().to_vec(),
        });
    };
    let k = (3.0 * config.perplexity).floor() as usize;
    if n < 4 || config.perplexity.is_nan() || k == 0 || k > n - 1 {
        return Err(Error::config(
            "t-SNE",
            format!(
                "{n} points cannot have perplexity {} (it needs more than 3·perplexity points)",
                config.perplexity
            ),
        ));
    }
    let x = if d > PCA_DIMS {
        pca(data, PCA_DIMS)?
    } else {
        data.clone()
    };
    let affinities = Affinities::new(&x, k, config.perplexity)?;
    let mut rng = seeded_rng(config.seed);
    let mut y: Vec<[f32; 2]> = Tensor::randn([n, 2], &mut rng)
        .mul_scalar(1e-4)
        .data()
        .chunks(2)
        .map(|p| [p[0], p[1]])
        .collect();
    let learning_rate = config
        .learning_rate
        .unwrap_or((n as f32 / EXAGGERATION / 4.0).max(50.0));
    let mut velocity = vec![[0f32; 2]; n];
    let mut gains = vec![[1f32; 2]; n];
    for it in 0..config.iterations {
        let exaggeration = if it < EXAGGERATED { EXAGGERATION } else { 1.0 };
        let momentum = if it < EXAGGERATED { 0.5 } else { 0.8 };
        let grad = gradient(&y, &affinities, exaggeration, config.theta);
        for i in 0..n {
            for a in 0..2 {
                // Delta-bar-delta gains: grow while the step keeps its direction.
                let same = (grad[i][a] > 0.0) == (velocity[i][a] > 0.0);
                gains[i][a] = if same {
                    gains[i][a] * 0.8
                } else {
                    gains[i][a] + 0.2
                }
                .max(0.01);
                velocity[i][a] =
                    momentum * velocity[i][a] - learning_rate * gains[i][a] * grad[i][a];
                y[i][a] += velocity[i][a];
            }
        }
        // Keep the embedding centred.
        let mean = y.iter().fold([0f32; 2], |m, p| [m[0] + p[0], m[1] + p[1]]);
        y.iter_mut().for_each(|p| {
            p[0] -= mean[0] / n as f32;
            p[1] -= mean[1] / n as f32;
        });
    }
    Ok(Tensor::from_vec(y.into_iter().flatten().collect(), [n, 2])?)
}

/// The symmetric joint probabilities `p_ij` of the nearest-neighbour graph, as sparse rows.
struct Affinities {
    /// For each point, its neighbours and `p_ij` (summing to 1 over all pairs).
    rows: Vec<Vec<(usize, f32)>>,
}

impl Affinities {
    fn new(x: &Tensor, k: usize, perplexity: f32) -> Result<Affinities> {
        let n = x.dims()[0];
        let neighbours = nearest_squared(x, k)?;
        let conditional: Vec<Vec<(usize, f32)>> = neighbours
            .par_iter()
            .map(|row| conditional_row(row, perplexity))
            .collect();
        // p_ij = (p_j|i + p_i|j) / 2N over the union of both neighbour lists.
        let mut triplets: Vec<(usize, usize, f32)> = Vec::with_capacity(2 * n * k);
        for (i, row) in conditional.iter().enumerate() {
            for &(j, p) in row {
                triplets.push((i, j, p));
                triplets.push((j, i, p));
            }
        }
        triplets.sort_by_key(|t| (t.0, t.1));
        let mut rows = vec![Vec::new(); n];
        for (i, j, p) in triplets {
            let p = p / (2 * n) as f32;
            match rows[i].last_mut() {
                Some((last, sum)) if *last == j => *sum += p,
                _ => rows[i].push((j, p)),
            }
        }
        Ok(Affinities { rows })
    }
}

/// `p_j|i` over a point's neighbours (given with squared distances), the Gaussian's precision
/// found by bisection so that the distribution's perplexity is `perplexity`.
fn conditional_row(neighbours: &[(usize, f32)], perplexity: f32) -> Vec<(usize, f32)> {
    let target = f64::from(perplexity).ln();
    let (mut beta, mut lo, mut hi) = (1f64, 0f64, f64::INFINITY);
    let nearest = neighbours.first().map_or(0.0, |n| f64::from(n.1));
    let mut p = vec![0f64; neighbours.len()];
    for _ in 0..200 {
        // Distances shifted by the nearest one: the same distribution, no underflow.
        p.iter_mut()
            .zip(neighbours)
            .for_each(|(p, n)| *p = (-beta * (f64::from(n.1) - nearest)).exp());
        let sum: f64 = p.iter().sum();
        let mean_d: f64 = p
            .iter()
            .zip(neighbours)
            .map(|(p, n)| p * (f64::from(n.1) - nearest))
            .sum::<f64>()
            / sum;
        let entropy = sum.ln() + beta * mean_d;
        if (entropy - target).abs() < 1e-5 {
            break;
        }
        if entropy > target {
            lo = beta;
            beta = if hi.is_finite() {
                (beta + hi) / 2.0
            } else {
                beta * 2.0
            };
        } else {
            hi = beta;
            beta = (beta + lo) / 2.0;
        }
    }
    let sum: f64 = p.iter().sum();
    neighbours
        .iter()
        .zip(&p)
        .map(|(n, p)| (n.0, (p / sum) as f32))
        .collect()
}

/// Each row's `k` nearest other rows with squared distances, nearest first: `|a|² + |b|² − 2a·b`
/// by blocks of rows through the tensor crate's matrix product.
fn nearest_squared(x: &Tensor, k: usize) -> Result<Vec<Vec<(usize, f32)>>> {
    let (n, d) = (x.dims()[0], x.dims()[1]);
    let norms: Vec<f32> = x
        .data()
        .chunks(d)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    let xt = x.transpose()?;
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        let block = x.narrow(0, start, end - start)?;
        let dots = block.matmul(&xt)?;
        let dots = dots.data();
        let rows: Vec<Vec<(usize, f32)>> = (start..end)
            .into_par_iter()
            .map(|i| {
                let row = &dots[(i - start) * n..(i - start + 1) * n];
                let mut d: Vec<(usize, f32)> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| (j, (norms[i] + norms[j] - 2.0 * row[j]).max(0.0)))
                    .collect();
                let by_distance =
                    |a: &(usize, f32), b: &(usize, f32)| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0));
                if d.len() > k {
                    d.select_nth_unstable_by(k, by_distance);
                    d.truncate(k);
                }
                d.sort_by(by_distance);
                d
            })
            .collect();
        out.extend(rows);
    }
    Ok(out)
}

/// Rows per block of the distance computation.
const BLOCK: usize = 1024;

/// The gradient of the KL divergence at `y`: attraction along the affinity graph, repulsion from
/// every point through the quadtree.
fn gradient(y: &[[f32; 2]], p: &Affinities, exaggeration: f32, theta: f32) -> Vec<[f32; 2]> {
    let tree = QuadTree::new(y);
    let repulsion: Vec<([f32; 2], f32)> = y
        .par_iter()
        .map(|point| tree.repulsion(point, theta))
        .collect();
    // Summed in index order, so the result does not depend on the thread count.
    let z: f64 = repulsion.iter().map(|r| f64::from(r.1)).sum();
    let z = z as f32;
    y.iter()
        .zip(&p.rows)
        .zip(&repulsion)
        .map(|((yi, row), (rep, _))| {
            let mut attract = [0f32; 2];
            for &(j, pij) in row {
                let diff = [yi[0] - y[j][0], yi[1] - y[j][1]];
                let q = 1.0 / (1.0 + diff[0] * diff[0] + diff[1] * diff[1]);
                attract[0] += exaggeration * pij * q * diff[0];
                attract[1] += exaggeration * pij * q * diff[1];
            }
            [
                4.0 * (attract[0] - rep[0] / z),
                4.0 * (attract[1] - rep[1] / z),
            ]
        })
        .collect()
}

/// A quadtree over the embedding: each node's centre of mass and point count.
struct QuadTree {
    nodes: Vec<Node>,
}

struct Node {
    centre: [f32; 2],
    half: f32,
    mass: [f32; 2],
    count: usize,
    /// Indices of the four children, once split.
    children: Option<[usize; 4]>,
    /// The single point of a leaf (its coordinates), before a split.
    point: Option<[f32; 2]>,
}

/// Below this half-width coincident points share a leaf instead of splitting forever.
const MIN_HALF: f32 = 1e-6;

impl QuadTree {
    fn new(points: &[[f32; 2]]) -> QuadTree {
        let (lo, hi) = points.iter().fold(
            ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]),
            |(lo, hi), p| {
                (
                    [lo[0].min(p[0]), lo[1].min(p[1])],
                    [hi[0].max(p[0]), hi[1].max(p[1])],
                )
            },
        );
        let centre = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let half = ((hi[0] - lo[0]).max(hi[1] - lo[1]) / 2.0).max(MIN_HALF) * 1.0001;
        let mut tree = QuadTree {
            nodes: vec![Node::empty(centre, half)],
        };
        for p in points {
            tree.insert(*p);
        }
        tree
    }

    fn insert(&mut self, p: [f32; 2]) {
        let mut at = 0;
        loop {
            let node = &mut self.nodes[at];
            let count = node.count as f32;
            node.mass = [
                (node.mass[0] * count + p[0]) / (count + 1.0),
                (node.mass[1] * count + p[1]) / (count + 1.0),
            ];
            node.count += 1;
            if node.count == 1 {
                node.point = Some(p);
                return;
            }
            if node.children.is_none() {
                if node.half < MIN_HALF {
                    return; // coincident points: this leaf keeps the count and the mean
                }
                let old = node.point.take().expect("a leaf with one point holds it");
                let children = self.split(at);
                let child = children[self.nodes[at].quadrant(old)];
                self.push_down(child, old);
            }
            at = self.nodes[at].children.expect("split above")[self.nodes[at].quadrant(p)];
        }
    }

    /// Moves the single point of a split node into its (empty) child.
    fn push_down(&mut self, child: usize, p: [f32; 2]) {
        let node = &mut self.nodes[child];
        node.mass = p;
        node.count = 1;
        node.point = Some(p);
    }

    fn split(&mut self, at: usize) -> [usize; 4] {
        let (c, h) = (self.nodes[at].centre, self.nodes[at].half / 2.0);
        let first = self.nodes.len();
        for q in 0..4 {
            let dx = if q & 1 == 0 { -h } else { h };
            let dy = if q & 2 == 0 { -h } else { h };
            self.nodes.push(Node::empty([c[0] + dx, c[1] + dy], h));
        }
        let children = [first, first + 1, first + 2, first + 3];
        self.nodes[at].children = Some(children);
        children
    }

    /// `(Σ q²·(y − y_j), Σ q)` over every other point, `q = 1 / (1 + |y − y_j|²)`, cells far
    /// enough (`width / distance < theta`) taken as one point at their centre of mass.
    fn repulsion(&self, y: &[f32; 2], theta: f32) -> ([f32; 2], f32) {
        let (mut force, mut z) = ([0f32; 2], 0f32);
        let mut stack = vec![0];
        while let Some(at) = stack.pop() {
            let node = &self.nodes[at];
            if node.count == 0 {
                continue;
            }
            let diff = [y[0] - node.mass[0], y[1] - node.mass[1]];
            let d2 = diff[0] * diff[0] + diff[1] * diff[1];
            let far = 2.0 * node.half < theta * d2.sqrt();
            match node.children {
                Some(children) if !far => stack.extend(children),
                _ => {
                    // A leaf holding `y` itself contributes nothing for that point.
                    let count = if d2 == 0.0 {
                        node.count - 1
                    } else {
                        node.count
                    } as f32;
                    let q = 1.0 / (1.0 + d2);
                    z += count * q;
                    force[0] += count * q * q * diff[0];
                    force[1] += count * q * q * diff[1];
                }
            }
        }
        (force, z)
    }
}

impl Node {
    fn empty(centre: [f32; 2], half: f32) -> Node {
        Node {
            centre,
            half,
            mass: [0.0; 2],
            count: 0,
            children: None,
            point: None,
        }
    }

    fn quadrant(&self, p: [f32; 2]) -> usize {
        usize::from(p[0] >= self.centre[0]) | usize::from(p[1] >= self.centre[1]) << 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `clusters` Gaussian clusters of `per` points in `dim` dimensions, centres 10 apart.
    fn blobs(clusters: usize, per: usize, dim: usize) -> (Tensor, Vec<usize>) {
        let mut rng = seeded_rng(3);
        let noise = Tensor::randn([clusters * per, dim], &mut rng).to_vec();
        let data = noise
            .chunks(dim)
            .enumerate()
            .flat_map(|(i, row)| {
                let c = i / per;
                row.iter()
                    .enumerate()
                    .map(move |(a, v)| v + if a == c { 10.0 } else { 0.0 })
                    .collect::<Vec<_>>()
            })
            .collect();
        let labels = (0..clusters * per).map(|i| i / per).collect();
        (
            Tensor::from_vec(data, [clusters * per, dim]).unwrap(),
            labels,
        )
    }

    /// Leave-one-out k-NN accuracy of the labels in the embedding.
    fn knn_accuracy(y: &Tensor, labels: &[usize], k: usize) -> f32 {
        let neighbours = nearest_squared(y, k).unwrap();
        let correct = neighbours
            .iter()
            .enumerate()
            .filter(|(i, row)| {
                let same = row.iter().filter(|(j, _)| labels[*j] == labels[*i]).count();
                2 * same > k
            })
            .count();
        correct as f32 / labels.len() as f32
    }

    #[test]
    fn separated_clusters_stay_separated_and_runs_repeat() {
        let (data, labels) = blobs(4, 40, 12);
        let config = TsneConfig {
            perplexity: 10.0,
            iterations: 500,
            ..Default::default()
        };
        let y = tsne(&data, &config).unwrap();
        assert_eq!(y.dims(), [160, 2]);
        let accuracy = knn_accuracy(&y, &labels, 5);
        println!(
            "4 Gaussian clusters of 40 points in 12-D: 5-NN accuracy in the t-SNE plane {accuracy}"
        );
        assert!(accuracy >= 0.95, "5-NN accuracy in 2-D: {accuracy}");
        assert_eq!(tsne(&data, &config).unwrap().to_vec(), y.to_vec());
        let other = TsneConfig { seed: 1, ..config };
        assert_ne!(tsne(&data, &other).unwrap().to_vec(), y.to_vec());
        assert!(tsne(&data.narrow(0, 0, 20).unwrap(), &config).is_err());
    }

    #[test]
    fn barnes_hut_with_theta_zero_is_exact() {
        let y: Vec<[f32; 2]> = Tensor::randn([50, 2], &mut seeded_rng(2))
            .data()
            .chunks(2)
            .map(|p| [p[0], p[1]])
            .collect();
        let tree = QuadTree::new(&y);
        for (i, yi) in y.iter().enumerate() {
            let (force, z) = tree.repulsion(yi, 0.0);
            let (mut exact, mut exact_z) = ([0f32; 2], 0f32);
            for (_, yj) in y.iter().enumerate().filter(|(j, _)| *j != i) {
                let diff = [yi[0] - yj[0], yi[1] - yj[1]];
                let q = 1.0 / (1.0 + diff[0] * diff[0] + diff[1] * diff[1]);
                exact_z += q;
                exact[0] += q * q * diff[0];
                exact[1] += q * q * diff[1];
            }
            assert!((z - exact_z).abs() < 1e-4 * exact_z, "{z} vs {exact_z}");
            for a in 0..2 {
                assert!((force[a] - exact[a]).abs() < 1e-4, "{force:?} vs {exact:?}");
            }
        }
        // With θ = 0.5 the approximation stays close.
        let (force, z) = tree.repulsion(&y[0], 0.5);
        let (exact, exact_z) = tree.repulsion(&y[0], 0.0);
        assert!((z - exact_z).abs() < 0.05 * exact_z);
        assert!((force[0] - exact[0]).abs() < 0.05 * (exact[0].abs() + exact[1].abs()));
    }
}
