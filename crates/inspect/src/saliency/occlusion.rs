//! Occlusion (Zeiler & Fergus 2014): how much the class score drops when a window of the image is
//! covered.
use super::{chunks, logits, prepare, HeatMap};
use crate::error::{Error, Result};
use convkit_nn::Module;
use convkit_tensor::Tensor;

/// Occlusion's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OcclusionConfig {
    /// Side of the square window: 8.
    pub window: usize,
    /// Step between windows: 4.
    pub stride: usize,
    /// The value written into the window, in normalised units (0: the dataset's mean colour).
    pub fill: f32,
    /// Occluded images per forward pass: 64.
    pub batch_size: usize,
}

impl Default for OcclusionConfig {
    fn default() -> Self {
        OcclusionConfig {
            window: 8,
            stride: 4,
            fill: 0.0,
            batch_size: 64,
        }
    }
}

/// For each pixel, the mean drop `logit(image) − logit(occluded)` over the windows that cover it
/// (all channels covered at once; windows start every `stride` pixels from the top-left corner,
/// and pixels no window covers get 0).
///
/// # Shapes
/// `image` `[C, H, W]` → map `[H, W]`.
///
/// # Errors
/// A window of size 0 or larger than the image, a stride of 0, a class out of range.
pub fn occlusion(
    model: &dyn Module,
    image: &Tensor,
    class: Option<usize>,
    config: &OcclusionConfig,
) -> Result<HeatMap> {
    let (batch, class) = prepare(model, image, class)?;
    let &[c, h, w] = image.dims() else {
        unreachable!("prepare checked [C, H, W]")
    };
    let (win, stride) = (config.window, config.stride);
    if win == 0 || stride == 0 || win > h || win > w {
        return Err(Error::config(
            "occlusion",
            format!("window {win} with stride {stride} does not fit a {h}x{w} image"),
        ));
    }
    let starts = |n: usize| (0..=n - win).step_by(stride).collect::<Vec<_>>();
    let windows: Vec<(usize, usize)> = starts(h)
        .into_iter()
        .flat_map(|y| starts(w).into_iter().map(move |x| (y, x)))
        .collect();
    let base = logits(model, &batch)?.get(&[0, class])?;
    let pixels = image.to_vec();
    let mut drop_sum = vec![0f32; h * w];
    let mut count = vec![0u32; h * w];
    for range in chunks(windows.len(), config.batch_size) {
        let mut occluded = Vec::with_capacity(range.len() * pixels.len());
        for &(y0, x0) in &windows[range.clone()] {
            let mut img = pixels.clone();
            for ch in 0..c {
                for y in y0..y0 + win {
                    let row = (ch * h + y) * w;
                    img[row + x0..row + x0 + win].fill(config.fill);
                }
            }
            occluded.extend(img);
        }
        let scores = logits(model, &Tensor::from_vec(occluded, [range.len(), c, h, w])?)?;
        let k = scores.dims()[1];
        for (i, &(y0, x0)) in windows[range].iter().enumerate() {
            let drop = base - scores.data()[i * k + class];
            for y in y0..y0 + win {
                for x in x0..x0 + win {
                    drop_sum[y * w + x] += drop;
                    count[y * w + x] += 1;
                }
            }
        }
    }
    let map = drop_sum
        .iter()
        .zip(&count)
        .map(|(&s, &n)| if n == 0 { 0.0 } else { s / n as f32 })
        .collect();
    Ok(HeatMap {
        values: Tensor::from_vec(map, [h, w])?,
        class,
    })
}
