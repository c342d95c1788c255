//! Receptive field of a stack of convolution / pooling layers.

/// One layer's effect on the receptive field: kernel size, stride and dilation along one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
}

/// The number of input pixels (along one axis) that one output of the stack sees:
/// `r = 1 + Σ_l dilation_l·(kernel_l − 1)·Π_{i<l} stride_i`. A stack of L stride-1 k×k convs
/// gives `1 + L(k − 1)`.
pub fn receptive_field(layers: &[Window]) -> usize {
    let (mut field, mut jump) = (1, 1);
    for w in layers {
        field += w.dilation * (w.kernel.max(1) - 1) * jump;
        jump *= w.stride.max(1);
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_of_convs_and_pools() {
        let conv3 = Window {
            kernel: 3,
            stride: 1,
            dilation: 1,
        };
        for l in 0..6 {
            assert_eq!(receptive_field(&vec![conv3; l]), 1 + l * 2);
        }
        let pool2 = Window {
            kernel: 2,
            stride: 2,
            dilation: 1,
        };
        // conv3, pool2, conv3: 1 + 2 + 1 + 2·2 = 8.
        assert_eq!(receptive_field(&[conv3, pool2, conv3]), 8);
        assert_eq!(
            receptive_field(&[Window {
                kernel: 3,
                stride: 1,
                dilation: 2
            }]),
            5
        );
    }
}
