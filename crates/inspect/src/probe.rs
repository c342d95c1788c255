//! Reaching a layer by its `state_dict` name and reading what it computes, and the checks every
//! inspection makes on its inputs.
use crate::error::{Error, Result};
use convkit_nn::trace::trace;
use convkit_nn::{ForwardPass, Mode, Module, ModuleCall};
use convkit_tensor::{no_grad, Tensor};

/// The output of the module named `layer` (its last call, for a module that runs twice) and the
/// model's output, for `input` (`[N, ...]`) in one eval forward pass without a graph.
///
/// # Errors
/// An unknown layer ([`convkit_nn::Error::UnknownModule`] lists the valid names), a layer the
/// forward pass did not run, or the model's own error.
pub fn layer_output(model: &dyn Module, input: &Tensor, layer: &str) -> Result<(Tensor, Tensor)> {
    model.module(layer)?;
    let mut captured = None;
    let mut hook = |call: &ModuleCall| {
        if call.name == layer {
            captured = Some(call.output.clone());
        }
        Ok(None)
    };
    let output = no_grad(|| {
        ForwardPass::new(Mode::Eval)
            .with_hook(&mut hook)
            .run(model, input)
    })?;
    let activation = captured.ok_or_else(|| Error::NotRun(layer.to_string()))?;
    Ok((activation, output))
}

/// The feature maps of `layer` for one `[C, H, W]` image: `[K, h, w]` for a conv layer, `[F]`
/// for a fully connected one.
///
/// # Errors
/// As [`layer_output`], and an image that is not `[C, H, W]`.
pub fn feature_maps(model: &dyn Module, image: &Tensor, layer: &str) -> Result<Tensor> {
    let (activation, _) = layer_output(model, &as_batch(image)?, layer)?;
    let dims = activation.dims()[1..].to_vec();
    Ok(activation.reshape(&dims)?)
}

/// Channel indices of `[K, ...]` maps, the largest mean activation first (ties by index).
pub fn channels_by_mean(maps: &Tensor) -> Vec<usize> {
    let k = maps.dims().first().copied().unwrap_or(0);
    let per = maps.numel() / k.max(1);
    let data = maps.data();
    let means: Vec<f32> = (0..k)
        .map(|c| data[c * per..(c + 1) * per].iter().sum::<f32>() / per.max(1) as f32)
        .collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| means[b].total_cmp(&means[a]).then(a.cmp(&b)));
    order
}

/// The name of the last module (a layer, not a container) whose output for `input` is a
/// `[N, C, H, W]` map larger than 1×1 (a global pool's output is not a map): Grad-CAM's usual
/// layer. `None` when no layer gives one.
///
/// # Errors
/// The model's own error.
pub fn last_spatial_layer(model: &dyn Module, input: &Tensor) -> Result<Option<String>> {
    let (_, records) = no_grad(|| trace(model, input, Mode::Eval))?;
    Ok(records
        .into_iter()
        .rev()
        .find(|r| r.is_leaf && r.output.rank() == 4 && r.output.dims()[2] * r.output.dims()[3] > 1)
        .map(|r| r.name))
}

/// One `[C, H, W]` image as a batch of one, `[1, C, H, W]`.
///
/// # Errors
/// [`Error::Shape`] for any other rank.
pub fn as_batch(image: &Tensor) -> Result<Tensor> {
    if image.rank() != 3 {
        return Err(Error::Shape {
            what: "image",
            expected: "[C, H, W]",
            dims: image.dims().to_vec(),
        });
    }
    let mut dims = vec![1];
    dims.extend_from_slice(image.dims());
    Ok(image.detach().reshape(&dims)?)
}

/// Checks that a `[C, H, W]` image has the `channels` the model takes.
///
/// # Errors
/// [`Error::Shape`] for a tensor that is not `[C, H, W]`, [`Error::Channels`] for another count.
pub fn check_channels(image: &Tensor, channels: usize) -> Result<()> {
    as_batch(image)?;
    let got = image.dims()[0];
    if got != channels {
        return Err(Error::Channels {
            expected: channels,
            got,
        });
    }
    Ok(())
}

/// The parameters of a model frozen (not requiring grad) while this lives, so that the backward
/// passes of an inspection compute input gradients only and leave the parameters' `.grad` alone.
pub(crate) struct Frozen(Vec<Tensor>);

impl Frozen {
    pub(crate) fn new(model: &dyn Module) -> Frozen {
        let trainable: Vec<Tensor> = model
            .parameters()
            .into_iter()
            .map(|(_, t)| t)
            .filter(Tensor::requires_grad)
            .collect();
        trainable.iter().for_each(|t| t.set_requires_grad(false));
        Frozen(trainable)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        self.0.iter().for_each(|t| t.set_requires_grad(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_nn::layers::{Conv2d, Conv2dConfig, Flatten, FlattenConfig, ReLU, Sequential};
    use convkit_tensor::seeded_rng;

    fn model() -> Sequential {
        let mut rng = seeded_rng(0);
        let conv = Conv2d::new(1, 3, (3, 3), Conv2dConfig::default(), &mut rng).unwrap();
        Sequential::named(vec![
            ("conv".into(), Box::new(conv) as Box<dyn Module>),
            ("relu".into(), Box::new(ReLU)),
            (
                "flat".into(),
                Box::new(Flatten::new(FlattenConfig::default())),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn reads_a_layer_by_name_and_names_the_valid_ones() {
        let model = model();
        let image = Tensor::randn([1, 5, 5], &mut seeded_rng(1));
        let maps = feature_maps(&model, &image, "relu").unwrap();
        assert_eq!(maps.dims(), [3, 3, 3]);
        assert!(maps.to_vec().iter().all(|&v| v >= 0.0));
        let err = feature_maps(&model, &image, "conv2")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the model has no module named 'conv2'; its modules are: conv, relu, flat"
        );
        let err = as_batch(&Tensor::zeros([5, 5])).unwrap_err().to_string();
        assert_eq!(err, "image: expected [C, H, W], got shape [5, 5]");
        let err = check_channels(&Tensor::zeros([3, 5, 5]), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the image has 3 channel(s) but the model takes 1"
        );
    }

    #[test]
    fn ranks_channels_and_restores_frozen_parameters() {
        let maps = Tensor::from_vec(vec![1.0, 1.0, 5.0, 5.0, 3.0, 3.0], [3, 2]).unwrap();
        assert_eq!(channels_by_mean(&maps), [1, 2, 0]);
        let model = model();
        {
            let _frozen = Frozen::new(&model);
            assert!(model.parameters().iter().all(|(_, t)| !t.requires_grad()));
        }
        assert!(model.parameters().iter().all(|(_, t)| t.requires_grad()));
    }
}
