//! The option-A shortcut op: finite-difference gradients, agreement with the ops it replaces
//! (1×1 max-pooling with the stride, then zero channels concatenated) both ways, and its errors.
use convkit_tensor::gradcheck::{check_gradients, GradCheckConfig};
use convkit_tensor::ops::pool::{max_pool2d, Pool2dConfig};
use convkit_tensor::ops::shortcut::zero_pad_shortcut;
use convkit_tensor::{seeded_rng, Tensor};

#[test]
fn gradients_on_odd_sizes_and_strides() {
    for (dims, stride, channels) in [
        ([2, 3, 5, 7], 2, 5),
        ([1, 2, 4, 4], 1, 2),
        ([3, 1, 7, 6], 3, 4),
    ] {
        let x = Tensor::randn(dims, &mut seeded_rng(stride as u64)).with_grad();
        check_gradients(
            |t| zero_pad_shortcut(&t[0], stride, channels),
            &[x],
            &GradCheckConfig::default(),
        )
        .expect("op failed")
        .unwrap_or_else(|e| panic!("{dims:?} stride {stride}: {e}"));
    }
}

#[test]
fn equals_subsampling_by_pooling_then_concatenating_zeros() {
    for (dims, stride, channels) in [
        ([4, 16, 32, 32], 2, 32),
        ([2, 3, 9, 8], 2, 7),
        ([1, 5, 6, 6], 3, 5),
    ] {
        let mut rng = seeded_rng(1);
        let x = Tensor::randn(dims, &mut rng).with_grad();
        let [n, c, h, w] = dims;
        let (oh, ow) = (h.div_ceil(stride), w.div_ceil(stride));
        let g = Tensor::randn([n, channels, oh, ow], &mut rng);
        let grad_of = |y: Tensor| {
            x.zero_grad();
            y.mul(&g).unwrap().sum().backward().unwrap();
            (y.to_vec(), x.grad().unwrap().to_vec())
        };
        let fused = grad_of(zero_pad_shortcut(&x, stride, channels).unwrap());
        let pooled = max_pool2d(&x, &Pool2dConfig::new((1, 1), (stride, stride), (0, 0))).unwrap();
        let zeros = Tensor::zeros([n, channels - c, oh, ow]);
        let unfused = grad_of(Tensor::concat(&[pooled, zeros], 1).unwrap());
        assert_eq!(
            fused, unfused,
            "{dims:?} stride {stride} to {channels} channels"
        );
    }
}

#[test]
fn bad_inputs_are_errors_naming_the_op() {
    let x = Tensor::zeros([2, 4, 8, 8]);
    for (input, stride, channels) in [
        (Tensor::zeros([4, 8, 8]), 2, 8),
        (x.clone(), 0, 8),
        (x.clone(), 2, 3),
    ] {
        let err = zero_pad_shortcut(&input, stride, channels)
            .unwrap_err()
            .to_string();
        assert!(err.contains("zero_pad_shortcut"), "{err}");
    }
    assert_eq!(zero_pad_shortcut(&x, 2, 8).unwrap().dims(), &[2, 8, 4, 4]);
}
