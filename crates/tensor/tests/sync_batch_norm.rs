//! `sync_batch_norm` on replicas played by threads: replicas holding parts of a batch (of unequal
//! sizes) compute together what `batch_norm` computes on the whole batch — outputs, running
//! statistics, input gradients and (weighted by each replica's share, summed) parameter gradients.
use convkit_tensor::{
    batch_norm, seeded_rng, sync_batch_norm, BatchNormConfig, BatchStatsReducer, Tensor,
};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

/// Replicas as threads: `all_sum` waits for every replica's values and gives each the total.
struct ThreadReplicas {
    replicas: usize,
    round: Mutex<Round>,
    done: Condvar,
}

#[derive(Default)]
struct Round {
    sum: Vec<f64>,
    arrived: usize,
    finished: u64,
    total: Vec<f64>,
}

impl BatchStatsReducer for ThreadReplicas {
    fn all_sum(&self, values: &mut [f64]) {
        let mut round = self.round.lock().unwrap();
        if round.arrived == 0 {
            round.sum = vec![0.0; values.len()];
        }
        round
            .sum
            .iter_mut()
            .zip(&*values)
            .for_each(|(s, v)| *s += v);
        round.arrived += 1;
        let this_round = round.finished;
        if round.arrived == self.replicas {
            round.total = std::mem::take(&mut round.sum);
            round.arrived = 0;
            round.finished += 1;
            self.done.notify_all();
        } else {
            while round.finished == this_round {
                round = self.done.wait(round).unwrap();
            }
        }
        values.copy_from_slice(&round.total);
    }
}

/// What one forward and backward produced: output, running mean and var, input, weight and bias
/// gradients.
type Results = [Vec<f32>; 6];

/// `batch_norm` (or the synchronised one) of `x` with weight, bias and fresh running statistics,
/// then backward of the mean over images of `sum(y · g)`.
fn forward_backward(
    x: Vec<f32>,
    dims: [usize; 4],
    g: Vec<f32>,
    reducer: Option<Arc<dyn BatchStatsReducer>>,
) -> Results {
    let c = dims[1];
    let x = Tensor::from_vec(x, dims).unwrap().with_grad();
    let weight = Tensor::from_vec((0..c).map(|i| 0.5 + i as f32).collect(), [c])
        .unwrap()
        .with_grad();
    let bias = Tensor::from_vec((0..c).map(|i| i as f32 - 1.0).collect(), [c])
        .unwrap()
        .with_grad();
    let (rm, rv) = (Tensor::zeros([c]), Tensor::ones([c]));
    let config = BatchNormConfig::default();
    let args = (&x, Some(&rm), Some(&rv), Some(&weight), Some(&bias), config);
    let y = match &reducer {
        Some(r) => sync_batch_norm(args.0, args.1, args.2, args.3, args.4, args.5, r),
        None => batch_norm(args.0, args.1, args.2, args.3, args.4, args.5),
    }
    .unwrap();
    let g = Tensor::from_vec(g, dims).unwrap();
    let loss = y.mul(&g).unwrap().sum().mul_scalar(1.0 / dims[0] as f32);
    loss.backward().unwrap();
    [
        y.to_vec(),
        rm.to_vec(),
        rv.to_vec(),
        x.grad().unwrap().to_vec(),
        weight.grad().unwrap().to_vec(),
        bias.grad().unwrap().to_vec(),
    ]
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-4 * b.abs(),
            "{what}[{i}]: {a} vs {b}"
        );
    }
}

#[test]
fn replicas_together_compute_the_whole_batch() {
    let (n, c, h, w) = (7usize, 3usize, 4usize, 5usize);
    let per_image = c * h * w;
    let mut rng = seeded_rng(11);
    let x = Tensor::randn([n, c, h, w], &mut rng).to_vec();
    let x: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| v * 2.0 + (i % 3) as f32)
        .collect();
    let g = Tensor::randn([n, c, h, w], &mut rng).to_vec();
    let whole = forward_backward(x.clone(), [n, c, h, w], g.clone(), None);
    // Three replicas with 3, 1 and 3 images: a replica alone may even hold one image.
    let parts = [0..3, 3..4, 4..7];
    let reducer = Arc::new(ThreadReplicas {
        replicas: parts.len(),
        round: Mutex::default(),
        done: Condvar::new(),
    });
    let results: Vec<Results> = parts
        .iter()
        .map(|part| {
            let (x, g) = (
                x[part.start * per_image..part.end * per_image].to_vec(),
                g[part.start * per_image..part.end * per_image].to_vec(),
            );
            let reducer: Arc<dyn BatchStatsReducer> = reducer.clone();
            let dims = [part.len(), c, h, w];
            thread::spawn(move || forward_backward(x, dims, g, Some(reducer)))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    let joined = |k: usize, weighted: bool| -> Vec<f32> {
        parts
            .iter()
            .zip(&results)
            .flat_map(|(part, r)| {
                let share = if weighted {
                    part.len() as f32 / n as f32
                } else {
                    1.0
                };
                r[k].iter().map(move |v| v * share).collect::<Vec<_>>()
            })
            .collect()
    };
    assert_close("output", &joined(0, false), &whole[0]);
    assert_close("input gradient", &joined(3, true), &whole[3]);
    for r in &results {
        assert_close("running mean", &r[1], &whole[1]);
        assert_close("running var", &r[2], &whole[2]);
    }
    for (k, what) in [(4, "weight gradient"), (5, "bias gradient")] {
        let summed: Vec<f32> = (0..c)
            .map(|ch| {
                parts
                    .iter()
                    .zip(&results)
                    .map(|(part, r)| r[k][ch] * part.len() as f32 / n as f32)
                    .sum()
            })
            .collect();
        assert_close(what, &summed, &whole[k]);
    }
}

#[test]
fn one_replica_is_plain_batch_norm_bit_for_bit() {
    let mut rng = seeded_rng(3);
    let dims = [5, 2, 3, 3];
    let x = Tensor::randn(dims, &mut rng).to_vec();
    let g = Tensor::randn(dims, &mut rng).to_vec();
    let alone: Arc<dyn BatchStatsReducer> = Arc::new(ThreadReplicas {
        replicas: 1,
        round: Mutex::default(),
        done: Condvar::new(),
    });
    let synced = forward_backward(x.clone(), dims, g.clone(), Some(alone));
    assert_eq!(synced, forward_backward(x, dims, g, None));
}

#[test]
fn a_single_value_per_channel_across_the_replicas_is_an_error() {
    let alone: Arc<dyn BatchStatsReducer> = Arc::new(ThreadReplicas {
        replicas: 1,
        round: Mutex::default(),
        done: Condvar::new(),
    });
    let x = Tensor::zeros([1, 2, 1, 1]);
    let err = sync_batch_norm(
        &x,
        None,
        None,
        None,
        None,
        BatchNormConfig::default(),
        &alone,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("more than one value per channel across the replicas"),
        "{err}"
    );
}
