//! `convkit inspect saliency`: which pixels a class score depends on, as heat maps over the image.
use super::{class_name, load_model, output_path, save_picture, save_raw, zoom_for, ImageSource};
use clap::{Args, ValueEnum};
use convkit_inspect::probe::{as_batch, check_channels, last_spatial_layer};
use convkit_inspect::render::{denormalize, map_image, overlay, value_range, Colormap, Grid};
use convkit_inspect::saliency::{
    grad_cam, grad_cam_plus_plus, guided_backprop, integrated_gradients, occlusion, smoothgrad,
    upsample_bilinear, vanilla_gradient, OcclusionConfig, SmoothGradConfig,
};
use convkit_nn::Mode;
use convkit_tensor::{no_grad, Tensor};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct SaliencyArgs {
    /// Checkpoint written by `convkit train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Methods, comma-separated; one row of pictures each.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "gradient,grad-cam"
    )]
    method: Vec<Method>,
    #[command(flatten)]
    source: ImageSource,
    /// The class to explain (default: the predicted one).
    #[arg(long)]
    class: Option<usize>,
    /// Layer for Grad-CAM(++), by its state_dict name (default: the last layer with a spatial
    /// output).
    #[arg(long)]
    layer: Option<String>,
    /// SmoothGrad: noisy samples averaged.
    #[arg(long, default_value_t = 50)]
    samples: usize,
    /// SmoothGrad: noise standard deviation over the image's value range.
    #[arg(long, default_value_t = 0.15)]
    noise: f32,
    /// Integrated gradients: steps from the black image.
    #[arg(long, default_value_t = 64)]
    steps: usize,
    /// Occlusion: side of the square window, in pixels.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Occlusion: step between windows, in pixels.
    #[arg(long, default_value_t = 4)]
    stride: usize,
    /// Seed for SmoothGrad's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory.
    #[arg(long, default_value = "inspect")]
    out: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Method {
    Gradient,
    Smoothgrad,
    IntegratedGradients,
    GuidedBackprop,
    GradCam,
    GradCamPp,
    Occlusion,
}

impl Method {
    /// The name on the command line, used in captions and raw tensor names.
    fn name(self) -> &'static str {
        match self {
            Method::Gradient => "gradient",
            Method::Smoothgrad => "smoothgrad",
            Method::IntegratedGradients => "integrated-gradients",
            Method::GuidedBackprop => "guided-backprop",
            Method::GradCam => "grad-cam",
            Method::GradCamPp => "grad-cam-pp",
            Method::Occlusion => "occlusion",
        }
    }
}

pub fn run(args: SaliencyArgs) -> anyhow::Result<()> {
    let inspected = load_model(&args.checkpoint)?;
    let model = inspected.model.as_ref();
    let input = args.source.load(&inspected)?;
    let image = &input.tensor;
    check_channels(image, inspected.spec.in_channels)?;
    let (h, w) = (image.dims()[1], image.dims()[2]);
    let batch = as_batch(image)?;
    let probs = no_grad(|| model.forward(&batch, Mode::Eval))?
        .softmax(1)?
        .to_vec();
    let predicted = (0..probs.len())
        .max_by(|&a, &b| probs[a].total_cmp(&probs[b]))
        .unwrap_or(0);
    let layer = match &args.layer {
        Some(layer) => layer.clone(),
        None => last_spatial_layer(model, &batch)?.unwrap_or_default(),
    };
    let base = denormalize(image, &inspected.normalize)?;
    let mut grid = Grid::new(3, zoom_for(h.max(w)));
    let mut raw: Vec<(String, Tensor)> = Vec::new();
    let mut explained = None;
    for method in &args.method {
        let (heat, class) = match method {
            Method::Gradient => {
                let a = vanilla_gradient(model, image, args.class)?;
                raw.push((format!("{}.attribution", method.name()), a.values.clone()));
                (a.heat(), a.class)
            }
            Method::Smoothgrad => {
                let config = SmoothGradConfig {
                    samples: args.samples,
                    noise_level: args.noise,
                    seed: args.seed,
                    ..Default::default()
                };
                let a = smoothgrad(model, image, args.class, &config)?;
                raw.push((format!("{}.attribution", method.name()), a.values.clone()));
                (a.heat(), a.class)
            }
            Method::IntegratedGradients => {
                let black = black_image(image, &inspected.normalize)?;
                let ig = integrated_gradients(model, image, &black, args.class, args.steps)?;
                println!(
                    "integrated gradients, {} steps: F(x) − F(black) = {:.4}, completeness gap |Σ attributions − (F(x) − F(black))| = {:.3e}",
                    args.steps, ig.delta, ig.gap
                );
                raw.push((
                    format!("{}.attribution", method.name()),
                    ig.attribution.values.clone(),
                ));
                (ig.attribution.heat(), ig.attribution.class)
            }
            Method::GuidedBackprop => {
                let a = guided_backprop(model, image, args.class)?;
                raw.push((format!("{}.attribution", method.name()), a.values.clone()));
                (a.heat(), a.class)
            }
            Method::GradCam | Method::GradCamPp => {
                if layer.is_empty() {
                    anyhow::bail!("the model has no layer with a spatial output for Grad-CAM");
                }
                let cam = if *method == Method::GradCam {
                    grad_cam(model, image, &layer, args.class)?
                } else {
                    grad_cam_plus_plus(model, image, &layer, args.class)?
                };
                raw.push((format!("{}.{layer}", method.name()), cam.values.clone()));
                (upsample_bilinear(&cam.values, (h, w))?, cam.class)
            }
            Method::Occlusion => {
                let config = OcclusionConfig {
                    window: args.window,
                    stride: args.stride,
                    ..Default::default()
                };
                let map = occlusion(model, image, args.class, &config)?;
                (map.values, map.class)
            }
        };
        raw.push((format!("{}.heat", method.name()), heat.clone()));
        explained = Some(class);
        let (lo, hi) = value_range(&heat.data());
        let title = match method {
            Method::GradCam | Method::GradCamPp => format!("{} ({layer})", method.name()),
            _ => method.name().to_string(),
        };
        grid.push(base.clone(), "input");
        grid.push(map_image(&heat, Colormap::Heat, (lo.min(0.0), hi))?, title);
        grid.push(overlay(&base, &heat.relu(), 0.6)?, "overlay");
    }
    let class = explained.unwrap_or(predicted);
    let truth = input.label.map_or(String::new(), |l| {
        format!(", true {}", class_name(&inspected, l))
    });
    let caption = format!(
        "{}: explaining {} (p={:.3}), predicted {}{truth}",
        input.name,
        class_name(&inspected, class),
        probs[class],
        class_name(&inspected, predicted)
    );
    println!("{caption}");
    let picture = grid
        .with_title(format!(
            "{caption}; each map from its minimum (dark) to its maximum (light)"
        ))
        .render();
    let stem = format!("saliency-{}", input.name);
    save_picture(&picture, &output_path(&args.out, &format!("{stem}.png"))?)?;
    let refs: Vec<(&str, &Tensor)> = raw.iter().map(|(n, t)| (n.as_str(), t)).collect();
    save_raw(
        &output_path(&args.out, &format!("{stem}.safetensors"))?,
        &refs,
    )
}

/// The black image (every pixel 0) in the model's normalisation: integrated gradients' baseline.
fn black_image(image: &Tensor, normalize: &convkit_data::Normalize) -> anyhow::Result<Tensor> {
    let (c, plane) = (image.dims()[0], image.dims()[1] * image.dims()[2]);
    let values = (0..c * plane)
        .map(|i| -normalize.mean[i / plane] / normalize.std[i / plane])
        .collect();
    Ok(Tensor::from_vec(values, image.dims())?)
}
