//! The filters of a convolution layer as a picture: the first layer of a colour network in colour
//! (AlexNet's famous figure), deeper layers one tile per input channel or averaged over them.
use crate::error::{Error, Result};
use crate::render::{colorbar, hstack, map_image, Colormap, Grid};
use convkit_nn::Module;
use convkit_tensor::Tensor;
use image::{Rgb, RgbImage};

/// The weight `[out, in, kh, kw]` of the `Conv2d` named `layer`.
///
/// # Errors
/// An unknown layer (the message lists the valid ones), or a layer without a 4-D `weight`.
pub fn conv_weight(model: &dyn Module, layer: &str) -> Result<Tensor> {
    let module = model.module(layer)?;
    let weight = module
        .named_tensors()
        .into_iter()
        .find(|(name, t)| name == "weight" && t.rank() == 4 && module.children().is_empty());
    weight.map(|(_, t)| t).ok_or_else(|| Error::NotConv {
        layer: layer.to_string(),
        description: module.describe().lines().next().unwrap_or("").to_string(),
    })
}

/// How to show filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterView {
    /// One colour tile per filter, its 3 input channels as red, green and blue, each filter
    /// stretched to its own range (needs 3 input channels).
    Rgb,
    /// One row per filter, one tile per input channel, on one signed colour scale.
    Channels,
    /// One tile per filter, the mean over its input channels, on one signed colour scale.
    Mean,
}

impl FilterView {
    /// Colour for 3-channel filters, else the mean (for 1 input channel: the filters themselves).
    pub fn default_for(weight: &Tensor) -> FilterView {
        if weight.dims()[1] == 3 {
            FilterView::Rgb
        } else {
            FilterView::Mean
        }
    }
}

/// The filters `[out, in, kh, kw]` as a picture; the signed views carry a colour bar.
///
/// # Errors
/// A weight that is not 4-D, or [`FilterView::Rgb`] for filters without 3 input channels.
pub fn filter_picture(weight: &Tensor, view: FilterView, zoom: u32) -> Result<RgbImage> {
    let &[out, inputs, kh, kw] = weight.dims() else {
        return Err(Error::Shape {
            what: "filters",
            expected: "a [out, in, kh, kw] weight",
            dims: weight.dims().to_vec(),
        });
    };
    let w = weight.data();
    let kernel = kh * kw;
    let filter = |o: usize, i: usize| &w[(o * inputs + i) * kernel..(o * inputs + i + 1) * kernel];
    let columns = (out as f64).sqrt().ceil() as usize;
    let bound = w
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(f32::MIN_POSITIVE);
    let signed = |values: Vec<f32>| -> Result<RgbImage> {
        map_image(
            &Tensor::from_vec(values, [kh, kw])?,
            Colormap::Diverging,
            (-bound, bound),
        )
    };
    let grid = match view {
        FilterView::Rgb => {
            if inputs != 3 {
                return Err(Error::config(
                    "filters",
                    format!("the colour view needs 3 input channels, the layer has {inputs}"),
                ));
            }
            let mut grid = Grid::new(columns, zoom);
            for o in 0..out {
                let values: Vec<f32> = (0..3).flat_map(|i| filter(o, i).to_vec()).collect();
                let (lo, hi) = crate::render::value_range(&values);
                let span = if hi > lo { hi - lo } else { 1.0 };
                let byte = |v: f32| ((v - lo) / span * 255.0).round() as u8;
                let tile = RgbImage::from_fn(kw as u32, kh as u32, |x, y| {
                    let p = y as usize * kw + x as usize;
                    Rgb(std::array::from_fn(|c| byte(filter(o, c)[p])))
                });
                grid.push(tile, "");
            }
            return Ok(grid.render());
        }
        FilterView::Channels => {
            let mut grid =
                Grid::new(inputs, zoom).with_title("rows: filters, columns: input channels");
            for o in 0..out {
                for i in 0..inputs {
                    grid.push(signed(filter(o, i).to_vec())?, "");
                }
            }
            grid
        }
        FilterView::Mean => {
            let title = if inputs == 1 {
                "filters"
            } else {
                "filters averaged over input channels"
            };
            let mut grid = Grid::new(columns, zoom).with_title(title);
            for o in 0..out {
                let mean = (0..kernel)
                    .map(|p| (0..inputs).map(|i| filter(o, i)[p]).sum::<f32>() / inputs as f32)
                    .collect();
                grid.push(signed(mean)?, o.to_string());
            }
            grid
        }
    };
    let picture = grid.render();
    let bar = colorbar(
        picture.height().min(256),
        Colormap::Diverging,
        -bound,
        bound,
    );
    Ok(hstack(&picture, &bar))
}

#[cfg(test)]
mod tests {
    use super::*;
    use convkit_nn::layers::{Conv2d, Conv2dConfig, Linear, LinearConfig, Sequential};
    use convkit_tensor::seeded_rng;

    #[test]
    fn finds_conv_weights_and_draws_each_view() {
        let mut rng = seeded_rng(0);
        let model = Sequential::named(vec![
            (
                "conv".into(),
                Box::new(Conv2d::new(3, 4, (3, 3), Conv2dConfig::default(), &mut rng).unwrap())
                    as Box<dyn Module>,
            ),
            (
                "fc".into(),
                Box::new(Linear::new(2, 2, LinearConfig::default(), &mut rng).unwrap()),
            ),
        ])
        .unwrap();
        let weight = conv_weight(&model, "conv").unwrap();
        assert_eq!(weight.dims(), [4, 3, 3, 3]);
        assert_eq!(FilterView::default_for(&weight), FilterView::Rgb);
        let rgb = filter_picture(&weight, FilterView::Rgb, 4).unwrap();
        // 2×2 tiles of 12 pixels with 4-pixel padding.
        assert_eq!(rgb.dimensions(), (36, 36));
        for view in [FilterView::Channels, FilterView::Mean] {
            assert!(filter_picture(&weight, view, 2).unwrap().width() > 0);
        }
        let err = conv_weight(&model, "fc").unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 'fc' is not a 2-D convolution (Linear(in_features=2, out_features=2, \
             bias=True)); pick a Conv2d layer"
        );
    }
}
