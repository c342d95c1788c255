//! The autodiff contract: accumulation, zeroing, no_grad, shared subexpressions, errors.
use convkit_tensor::{no_grad, Activation, Tensor};

fn vector(values: &[f32]) -> Tensor {
    Tensor::from_vec(values.to_vec(), [values.len()]).unwrap()
}

#[test]
fn gradients_accumulate_until_zeroed() {
    let w = vector(&[1.0, -2.0]).with_grad();
    let loss = || w.mul(&w).unwrap().sum();
    loss().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![2.0, -4.0]);
    loss().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![4.0, -8.0]);
    w.zero_grad();
    assert!(w.grad().is_none());
}

#[test]
fn shared_subexpression_sums_both_paths() {
    // y = a·b + a  ⇒ dy/da = b + 1, through a diamond in the graph.
    let a = vector(&[3.0]).with_grad();
    let b = vector(&[5.0]).with_grad();
    let y = a.mul(&b).unwrap().add(&a).unwrap().sum();
    y.backward().unwrap();
    assert_eq!(a.grad().unwrap().to_vec(), vec![6.0]);
    assert_eq!(b.grad().unwrap().to_vec(), vec![3.0]);
}

#[test]
fn no_grad_records_nothing() {
    let w = vector(&[1.0]).with_grad();
    let y = no_grad(|| w.mul_scalar(2.0));
    assert!(!y.requires_grad());
    assert!(y.sum().backward().is_err());
    // Recording resumes after the scope.
    assert!(w.mul_scalar(2.0).requires_grad());
}

#[test]
fn frozen_inputs_get_no_gradient() {
    let w = vector(&[1.0, 2.0]).with_grad();
    let frozen = vector(&[3.0, 4.0]);
    w.mul(&frozen).unwrap().sum().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![3.0, 4.0]);
    assert!(frozen.grad().is_none());
    let detached = w.detach();
    assert!(!detached.requires_grad());
}

#[test]
fn backward_needs_a_scalar() {
    let w = vector(&[1.0, 2.0]).with_grad();
    let err = w.mul_scalar(2.0).backward().unwrap_err();
    assert!(err.to_string().contains("single value"), "{err}");
}

#[test]
fn deep_chains_do_not_overflow_the_stack() {
    let w = vector(&[1.0]).with_grad();
    let mut y = w.clone();
    for _ in 0..20_000 {
        y = y.add_scalar(0.0);
    }
    y.sum().backward().unwrap();
    assert_eq!(w.grad().unwrap().to_vec(), vec![1.0]);
}

#[test]
fn shape_errors_name_the_op_and_shapes() {
    let a = Tensor::zeros([2, 3]);
    let err = a.matmul(&Tensor::zeros([4, 5])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: inner dims differ: [2, 3] · [4, 5] (3 vs 4)"
    );
    let err = a.add(&Tensor::zeros([4])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "add: shapes [2, 3] and [4] cannot be broadcast together"
    );
    let err = convkit_tensor::linear(&a, &Tensor::zeros([5, 4]), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("input has 3 features but weight expects 4"),
        "{err}"
    );
    let err = a.cross_entropy(&[0, 3]).unwrap_err();
    assert!(
        err.to_string()
            .contains("target class 3 is out of range for 3 classes"),
        "{err}"
    );
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    use convkit_tensor::gradcheck::{check_gradients, GradCheckConfig};
    // x·detach(x) has analytic gradient x but numeric gradient 2x: the checker must object.
    let x = Tensor::from_vec(vec![0.5, -1.5, 2.0], [3])
        .unwrap()
        .with_grad();
    let result = check_gradients(
        |t| t[0].mul(&t[0].detach()),
        &[x],
        &GradCheckConfig::default(),
    )
    .unwrap();
    let err = result.unwrap_err();
    assert!((err.numeric - 2.0 * err.analytic).abs() < 1e-2, "{err}");
}

#[test]
fn in_place_activation_matches_the_op_and_is_refused_under_autodiff() {
    let values: Vec<f32> = (0..70_000).map(|i| (i as f32 * 0.37).sin() * 8.0).collect();
    for op in [
        Activation::Relu,
        Activation::Relu6,
        Activation::LeakyRelu {
            negative_slope: 0.1,
        },
        Activation::Silu,
    ] {
        let x = Tensor::from_vec(values.clone(), [values.len()]).unwrap();
        let expected = x.activation(op).to_vec();
        x.activation_(op).unwrap();
        assert_eq!(x.to_vec(), expected, "{op:?}");
    }
    let leaf = Tensor::from_vec(vec![-1.0, 2.0], [2]).unwrap().with_grad();
    let err = leaf.activation_(Activation::Relu).unwrap_err().to_string();
    assert!(err.contains("requires grad"), "{err}");
    assert_eq!(leaf.to_vec(), [-1.0, 2.0]);
}

#[test]
fn in_place_add_relu_matches_add_then_relu_and_refuses_what_it_cannot_do() {
    // Over two rayon jobs' worth, so the parallel split runs too.
    let a: Vec<f32> = (0..70_000).map(|i| (i as f32 * 0.37).sin() * 8.0).collect();
    let b: Vec<f32> = (0..70_000).map(|i| (i as f32 * 0.11).cos() * 5.0).collect();
    let x = Tensor::from_vec(a, [70, 1000]).unwrap();
    let y = Tensor::from_vec(b, [70, 1000]).unwrap();
    let expected = x.add(&y).unwrap().relu().to_vec();
    x.add_relu_(&y).unwrap();
    assert_eq!(x.to_vec(), expected);

    let err = x
        .add_relu_(&Tensor::zeros([70, 999]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("add_relu_") && err.contains("[70, 1000]") && err.contains("[70, 999]"),
        "{err}"
    );
    let err = x.add_relu_(&x.clone()).unwrap_err().to_string();
    assert!(err.contains("share"), "{err}");
    let leaf = Tensor::from_vec(vec![-1.0, 2.0], [2]).unwrap().with_grad();
    let err = leaf.add_relu_(&Tensor::zeros([2])).unwrap_err().to_string();
    assert!(err.contains("requires grad"), "{err}");
    assert_eq!(leaf.to_vec(), [-1.0, 2.0]);
}
