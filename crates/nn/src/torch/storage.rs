//! PyTorch storage element types and turning a strided view of a storage into f32 values.
use super::pickle::TensorRef;

/// The element type of a `torch.<Name>Storage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StorageDtype {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StorageDtype {
    /// `FloatStorage` → F32, and so on; `None` for any other name.
    pub fn from_storage_name(name: &str) -> Option<StorageDtype> {
        Some(match name {
            "FloatStorage" => StorageDtype::F32,
            "DoubleStorage" => StorageDtype::F64,
            "HalfStorage" => StorageDtype::F16,
            "BFloat16Storage" => StorageDtype::BF16,
            "LongStorage" => StorageDtype::I64,
            "IntStorage" => StorageDtype::I32,
            "ShortStorage" => StorageDtype::I16,
            "CharStorage" => StorageDtype::I8,
            "ByteStorage" => StorageDtype::U8,
            "BoolStorage" => StorageDtype::Bool,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            StorageDtype::F64 | StorageDtype::I64 => 8,
            StorageDtype::F32 | StorageDtype::I32 => 4,
            StorageDtype::F16 | StorageDtype::BF16 | StorageDtype::I16 => 2,
            StorageDtype::I8 | StorageDtype::U8 | StorageDtype::Bool => 1,
        }
    }

    /// One little-endian element as f32 (integers converted, as for safetensors files).
    fn decode(self, b: &[u8]) -> f32 {
        let two = || [b[0], b[1]];
        match self {
            StorageDtype::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")),
            StorageDtype::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
            StorageDtype::F16 => f16_to_f32(u16::from_le_bytes(two())),
            StorageDtype::BF16 => f32::from_bits(u32::from(u16::from_le_bytes(two())) << 16),
            StorageDtype::I64 => i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32,
            StorageDtype::I32 => i32::from_le_bytes(b.try_into().expect("4 bytes")) as f32,
            StorageDtype::I16 => f32::from(i16::from_le_bytes(two())),
            StorageDtype::I8 => f32::from(b[0] as i8),
            StorageDtype::U8 | StorageDtype::Bool => f32::from(b[0]),
        }
    }
}

/// IEEE half → single, subnormals, infinities and NaN included.
fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1F);
    let mantissa = f32::from(h & 0x3FF);
    sign * match exp {
        0 => mantissa * 2f32.powi(-24),
        31 if mantissa == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + mantissa / 1024.0) * 2f32.powi(e - 15),
    }
}

/// The values of `tensor` in row-major order, read from its storage's `bytes`.
///
/// # Errors
/// The storage is shorter than its declared size, or the view reaches past it.
pub(crate) fn gather(tensor: &TensorRef, bytes: &[u8]) -> Result<Vec<f32>, String> {
    let s = &tensor.storage;
    let size = s.dtype.size();
    if s.numel.checked_mul(size).is_none_or(|n| bytes.len() < n) {
        return Err(format!(
            "storage {} has {} bytes, expected {} elements of {size} bytes",
            s.key,
            bytes.len(),
            s.numel
        ));
    }
    if tensor.size.len() != tensor.stride.len() {
        return Err(format!(
            "tensor size {:?} and stride {:?} differ in rank",
            tensor.size, tensor.stride
        ));
    }
    let numel = tensor
        .size
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("tensor size {:?} overflows", tensor.size))?;
    if numel == 0 {
        return Ok(Vec::new());
    }
    // The last element the view reads, computed without overflow.
    let last = tensor
        .size
        .iter()
        .zip(&tensor.stride)
        .try_fold(tensor.offset, |acc, (&n, &st)| {
            (n - 1).checked_mul(st).and_then(|d| acc.checked_add(d))
        });
    if last.is_none_or(|last| last >= s.numel) {
        return Err(format!(
            "tensor view (offset {}, size {:?}, stride {:?}) reaches past storage {} of {} elements",
            tensor.offset, tensor.size, tensor.stride, s.key, s.numel
        ));
    }
    let mut out = Vec::with_capacity(numel);
    let mut index = vec![0usize; tensor.size.len()];
    for _ in 0..numel {
        let element = tensor.offset
            + index
                .iter()
                .zip(&tensor.stride)
                .map(|(i, s)| i * s)
                .sum::<usize>();
        out.push(s.dtype.decode(&bytes[element * size..(element + 1) * size]));
        // Odometer over the indices, last axis fastest.
        for axis in (0..index.len()).rev() {
            index[axis] += 1;
            if index[axis] < tensor.size[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_values() {
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7C00), f32::INFINITY);
        assert!(f16_to_f32(0x7E00).is_nan());
        assert_eq!(StorageDtype::BF16.decode(&[0x80, 0x3F]), 1.0);
    }
}
