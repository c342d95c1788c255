//! GoogLeNet (Szegedy et al., 2015), torchvision's `googlenet(aux_logits=False,
//! transform_input=False)` exactly: 6,624,904 parameters at 1000 classes, `state_dict` names as
//! torchvision's (`conv1.conv.weight`, `inception4a.branch2.1.bn.running_var`, `fc.bias`).
//! As in torchvision (and unlike the paper), branch3 uses a 3×3 convolution, not 5×5, and the
//! max-pools round up (`ceil_mode=True`). The pools' ceil mode lets a 32×32 input through
//! (32 → 16 → 8 → 4 → 2 → 1); the smallest input is 15×15.
use crate::error::Result;
use crate::parts::{conv, dropout, linear, max_pool, spatial_out, Step};
use crate::registry::ModelSpec;
use convkit_nn::init;
use convkit_nn::layers::{
    AdaptiveAvgPool2d, BatchNorm2d, BatchNormConfig, Conv2d, Dropout, Linear, Sequential,
};
use convkit_nn::{ForwardPass, Module};
use convkit_tensor::{ConvRng, Tensor};
use rand::Rng;

/// The registry names of this family.
pub(crate) const NAMES: &[&str] = &["googlenet"];

/// The registry's builder for [`NAMES`].
pub(crate) fn build(_name: &str, spec: &ModelSpec, rng: &mut ConvRng) -> Result<Box<dyn Module>> {
    Ok(Box::new(googlenet(spec, rng)?))
}

/// torchvision's `BasicConv2d`: conv (no bias) → BatchNorm (eps 0.001) → ReLU, children `conv`
/// and `bn`.
///
/// # Shapes
/// `[N, C_in, H, W]` → `[N, C_out, H_out, W_out]` as the conv gives.
///
/// # Errors
/// `forward`: an input the conv cannot take.
pub struct BasicConv2d {
    conv: Conv2d,
    bn: BatchNorm2d,
}

impl BasicConv2d {
    fn new(
        c_in: usize,
        c_out: usize,
        (k, stride, padding): (usize, usize, usize),
        rng: &mut impl Rng,
    ) -> Result<BasicConv2d> {
        let conv = conv(c_in, c_out, k, stride, padding, false, rng)?;
        // torchvision: trunc_normal(std 0.01, ±2), the same as N(0, 0.01) at this scale.
        init::normal(conv.weight(), 0.0, 0.01, rng);
        let bn = BatchNorm2d::new(
            c_out,
            BatchNormConfig {
                eps: 0.001,
                ..Default::default()
            },
        )?;
        Ok(BasicConv2d { conv, bn })
    }
}

impl Module for BasicConv2d {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let x = pass.call("conv", &self.conv, x)?;
        Ok(pass.call("bn", &self.bn, &x)?.relu())
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![("conv", &self.conv), ("bn", &self.bn)]
    }

    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        vec![vec!["conv", "bn"]]
    }
}

/// The output channels of an Inception module's branches, torchvision's `Inception` arguments:
/// 1×1; 1×1 reduce then 3×3; 1×1 reduce then 3×3 (5×5 in the paper); pool projection.
#[derive(Clone, Copy, Debug)]
struct InceptionChannels {
    ch1x1: usize,
    ch3x3red: usize,
    ch3x3: usize,
    ch5x5red: usize,
    ch5x5: usize,
    pool_proj: usize,
}

impl InceptionChannels {
    const fn new(c: [usize; 6]) -> Self {
        InceptionChannels {
            ch1x1: c[0],
            ch3x3red: c[1],
            ch3x3: c[2],
            ch5x5red: c[3],
            ch5x5: c[4],
            pool_proj: c[5],
        }
    }

    /// Channels of the concatenated output.
    fn out(&self) -> usize {
        self.ch1x1 + self.ch3x3 + self.ch5x5 + self.pool_proj
    }
}

/// torchvision's `Inception` module: four branches run on the same input and concatenated along
/// the channels — `branch1` (1×1), `branch2` (1×1 → 3×3), `branch3` (1×1 → 3×3), `branch4`
/// (3×3/1 max-pool, ceil mode → 1×1), every conv a [`BasicConv2d`].
///
/// # Shapes
/// `[N, C_in, H, W]` → `[N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W]`.
///
/// # Errors
/// `forward`: an input with the wrong channels.
pub struct Inception {
    branch1: BasicConv2d,
    branch2: Sequential,
    branch3: Sequential,
    branch4: Sequential,
}

impl Inception {
    fn new(c_in: usize, c: InceptionChannels, rng: &mut impl Rng) -> Result<Inception> {
        let reduce_then_3x3 = |red, out, rng: &mut _| -> Result<Sequential> {
            Ok(Sequential::new(vec![
                Box::new(BasicConv2d::new(c_in, red, (1, 1, 0), rng)?),
                Box::new(BasicConv2d::new(red, out, (3, 1, 1), rng)?),
            ]))
        };
        let branch2 = reduce_then_3x3(c.ch3x3red, c.ch3x3, rng)?;
        let branch3 = reduce_then_3x3(c.ch5x5red, c.ch5x5, rng)?;
        Ok(Inception {
            branch1: BasicConv2d::new(c_in, c.ch1x1, (1, 1, 0), rng)?,
            branch2,
            branch3,
            branch4: Sequential::new(vec![
                Box::new(max_pool(3, 1, 1, true)?),
                Box::new(BasicConv2d::new(c_in, c.pool_proj, (1, 1, 0), rng)?),
            ]),
        })
    }
}

impl Module for Inception {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let outputs = self
            .children()
            .into_iter()
            .map(|(name, branch)| pass.call(name, branch, x))
            .collect::<convkit_nn::Result<Vec<_>>>()?;
        Ok(Tensor::concat(&outputs, 1)?)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        vec![
            ("branch1", &self.branch1),
            ("branch2", &self.branch2),
            ("branch3", &self.branch3),
            ("branch4", &self.branch4),
        ]
    }
}

/// The Inception modules in order: name, and the channels torchvision gives them.
const INCEPTIONS: [(&str, [usize; 6]); 9] = [
    ("inception3a", [64, 96, 128, 16, 32, 32]),
    ("inception3b", [128, 128, 192, 32, 96, 64]),
    ("inception4a", [192, 96, 208, 16, 48, 64]),
    ("inception4b", [160, 112, 224, 24, 64, 64]),
    ("inception4c", [128, 128, 256, 24, 64, 64]),
    ("inception4d", [112, 144, 288, 32, 64, 64]),
    ("inception4e", [256, 160, 320, 32, 128, 128]),
    ("inception5a", [256, 160, 320, 32, 128, 128]),
    ("inception5b", [384, 192, 384, 48, 128, 128]),
];

/// torchvision's `GoogLeNet` without auxiliary classifiers: `conv1` … `avgpool` run in order, then
/// a flatten, `dropout` (0.2) and `fc`.
///
/// # Shapes
/// input `[N, C, H, W]` → logits `[N, classes]`; H and W at least 15.
///
/// # Errors
/// `forward`: an input the layers cannot take.
pub struct GoogLeNet {
    /// `conv1` through `avgpool`, with their names.
    trunk: Vec<(&'static str, Box<dyn Module>)>,
    dropout: Dropout,
    fc: Linear,
}

impl Module for GoogLeNet {
    fn forward_in(&self, x: &Tensor, pass: &mut ForwardPass<'_>) -> convkit_nn::Result<Tensor> {
        let x = self
            .trunk
            .iter()
            .try_fold(x.clone(), |x, (name, m)| pass.call(name, m.as_ref(), &x))?;
        let x = pass.call("dropout", &self.dropout, &x.flatten(1)?)?;
        pass.call("fc", &self.fc, &x)
    }

    fn children(&self) -> Vec<(&str, &dyn Module)> {
        let mut children: Vec<(&str, &dyn Module)> =
            self.trunk.iter().map(|(n, m)| (*n, m.as_ref())).collect();
        children.push(("dropout", &self.dropout));
        children.push(("fc", &self.fc));
        children
    }

    /// The trunk runs in order.
    fn fusable_chains(&self) -> Vec<Vec<&str>> {
        vec![self.trunk.iter().map(|(n, _)| *n).collect()]
    }
}

/// torchvision's `googlenet(num_classes, aux_logits=False, transform_input=False,
/// init_weights=True)`: convs and the fc weight N(0, 0.01), BatchNorm 1 and 0.
///
/// # Errors
/// An input smaller than 15×15 ([`crate::Error::Unsupported`]), or zero channels or classes.
pub fn googlenet(spec: &ModelSpec, rng: &mut impl Rng) -> Result<GoogLeNet> {
    let pool = Step::ceil(3, 2);
    let steps = [Step::padded(7, 2, 3), pool, pool, pool, Step::ceil(2, 2)];
    spatial_out("googlenet", spec, &steps)?;
    let pool = || max_pool(3, 2, 0, true);
    let mut trunk: Vec<(&'static str, Box<dyn Module>)> = vec![
        (
            "conv1",
            Box::new(BasicConv2d::new(spec.in_channels, 64, (7, 2, 3), rng)?),
        ),
        ("maxpool1", Box::new(pool()?)),
        ("conv2", Box::new(BasicConv2d::new(64, 64, (1, 1, 0), rng)?)),
        (
            "conv3",
            Box::new(BasicConv2d::new(64, 192, (3, 1, 1), rng)?),
        ),
        ("maxpool2", Box::new(pool()?)),
    ];
    let mut c_in = 192;
    for (name, channels) in INCEPTIONS {
        let channels = InceptionChannels::new(channels);
        trunk.push((name, Box::new(Inception::new(c_in, channels, rng)?)));
        c_in = channels.out();
        // Pools follow 3b and 4e.
        match name {
            "inception3b" => trunk.push(("maxpool3", Box::new(pool()?))),
            "inception4e" => trunk.push(("maxpool4", Box::new(max_pool(2, 2, 0, true)?))),
            _ => {}
        }
    }
    trunk.push(("avgpool", Box::new(AdaptiveAvgPool2d::new((1, 1))?)));
    let fc = linear(c_in, spec.num_classes, rng)?;
    init::normal(fc.weight(), 0.0, 0.01, rng);
    Ok(GoogLeNet {
        trunk,
        dropout: dropout(0.2, rng)?,
        fc,
    })
}
