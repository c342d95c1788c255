//! A safe subset of Python's unpickler, for PyTorch state_dicts: it builds plain values (None,
//! bools, ints, floats, strings, bytes, tuples, lists, dicts), `collections.OrderedDict`, and
//! tensors (`torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` over storages named by
//! persistent ids). Any other global, and every opcode that could build an arbitrary object
//! (`INST`, `OBJ`, `NEWOBJ`, ...), is refused with its name: nothing in the file is ever executed.
use super::budget::Budget;
use super::storage::StorageDtype;

/// A global the unpickler accepts; every other one is refused.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Global {
    OrderedDict,
    RebuildTensorV2,
    RebuildParameter,
    Storage(StorageDtype),
}

impl Global {
    fn resolve(module: &str, name: &str) -> Result<Global, String> {
        match (module, name) {
            ("collections", "OrderedDict") => Ok(Global::OrderedDict),
            ("torch._utils", "_rebuild_tensor_v2") => Ok(Global::RebuildTensorV2),
            ("torch._utils", "_rebuild_parameter") => Ok(Global::RebuildParameter),
            ("torch", storage) => StorageDtype::from_storage_name(storage)
                .map(Global::Storage)
                .ok_or_else(|| refused(module, name)),
            _ => Err(refused(module, name)),
        }
    }
}

fn refused(module: &str, name: &str) -> String {
    format!(
        "refused global '{module}.{name}' (only tensors, OrderedDict/dicts and plain values are read)"
    )
}

/// A storage named by a persistent id: `data/<key>` in the archive, `numel` elements.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StorageRef {
    pub dtype: StorageDtype,
    pub key: String,
    pub numel: usize,
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TensorRef {
    pub storage: StorageRef,
    pub offset: usize,
    pub size: Vec<usize>,
    pub stride: Vec<usize>,
}

/// What an accepted pickle can hold.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorRef),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Global(_) => "global",
            Value::Storage(_) => "storage",
            Value::Tensor(_) => "tensor",
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("truncated pickle")?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn le<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    fn line(&mut self) -> Result<String, String> {
        let len = self.bytes[self.at..]
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("truncated pickle line")?;
        let s = String::from_utf8_lossy(self.take(len)?).into_owned();
        self.at += 1;
        Ok(s)
    }
    fn string(&mut self, len: usize) -> Result<String, String> {
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| "invalid UTF-8 in pickle".into())
    }
}

fn usize_arg(v: &Value, what: &str) -> Result<usize, String> {
    match v {
        Value::Int(i) => usize::try_from(*i).map_err(|_| format!("{what} {i} is negative")),
        other => Err(format!("{what} is a {}, not an int", other.kind())),
    }
}

fn usize_tuple(v: &Value, what: &str) -> Result<Vec<usize>, String> {
    match v {
        Value::Tuple(items) => items.iter().map(|i| usize_arg(i, what)).collect(),
        other => Err(format!("{what} is a {}, not a tuple", other.kind())),
    }
}

/// `REDUCE`: calls an accepted global on its argument tuple.
fn reduce(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Tuple(args) = args else {
        return Err(format!("REDUCE arguments are a {}", args.kind()));
    };
    match (callable, args.as_slice()) {
        (Value::Global(Global::OrderedDict), []) => Ok(Value::Dict(Vec::new())),
        (Value::Global(Global::RebuildTensorV2), [Value::Storage(s), offset, size, stride, ..]) => {
            Ok(Value::Tensor(TensorRef {
                storage: s.clone(),
                offset: usize_arg(offset, "storage offset")?,
                size: usize_tuple(size, "tensor size")?,
                stride: usize_tuple(stride, "tensor stride")?,
            }))
        }
        (Value::Global(Global::RebuildParameter), [tensor @ Value::Tensor(_), ..]) => {
            Ok(tensor.clone())
        }
        (callable, _) => Err(format!(
            "refused call of a {} ({callable:?}) with {} arguments",
            callable.kind(),
            args.len()
        )),
    }
}

/// `BINPERSID`: PyTorch's `('storage', <Type>Storage, key, location, numel)`.
fn persistent_load(pid: Value) -> Result<Value, String> {
    match pid {
        Value::Tuple(items) => match items.as_slice() {
            [Value::Str(tag), Value::Global(Global::Storage(dtype)), Value::Str(key), _, numel]
                if tag == "storage" =>
            {
                Ok(Value::Storage(StorageRef {
                    dtype: *dtype,
                    key: key.clone(),
                    numel: usize_arg(numel, "storage size")?,
                }))
            }
            _ => Err(format!("refused persistent id {items:?}")),
        },
        other => Err(format!("refused persistent id of type {}", other.kind())),
    }
}

/// Runs the pickle program in `bytes` and returns the object it builds.
///
/// # Errors
/// A refused global, call or opcode (named), or a malformed pickle.
pub(crate) fn unpickle(bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader { bytes, at: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut marks: Vec<usize> = Vec::new();
    let mut memo: std::collections::HashMap<u64, Value> = std::collections::HashMap::new();
    let mut budget = Budget::for_pickle(bytes.len());
    let pop = |stack: &mut Vec<Value>| {
        stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".to_string())
    };
    loop {
        let at = r.at;
        let op = r.u8()?;
        let pop_mark =
            |stack: &mut Vec<Value>, marks: &mut Vec<usize>| -> Result<Vec<Value>, String> {
                let mark = marks.pop().ok_or("pickle MARK missing")?;
                if mark > stack.len() {
                    return Err("pickle MARK past the stack".into());
                }
                Ok(stack.split_off(mark))
            };
        match op {
            0x80 => {
                r.u8()?; // PROTO n
            }
            0x95 => {
                r.le::<8>()?; // FRAME length: framing only
            }
            b'.' => return pop(&mut stack),
            b'(' => marks.push(stack.len()),
            b')' => stack.push(Value::Tuple(Vec::new())),
            b']' => stack.push(Value::List(Vec::new())),
            b'}' => stack.push(Value::Dict(Vec::new())),
            b't' => {
                let tuple = Value::Tuple(pop_mark(&mut stack, &mut marks)?);
                budget.measure(&tuple)?;
                stack.push(tuple);
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if stack.len() < n {
                    return Err("pickle stack underflow".into());
                }
                let tuple = Value::Tuple(stack.split_off(stack.len() - n));
                budget.measure(&tuple)?;
                stack.push(tuple);
            }
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),
            0x89 => stack.push(Value::Bool(false)),
            b'J' => stack.push(Value::Int(i32::from_le_bytes(r.le()?).into())),
            b'K' => stack.push(Value::Int(r.u8()?.into())),
            b'M' => stack.push(Value::Int(u16::from_le_bytes(r.le()?).into())),
            0x8a => {
                let n = usize::from(r.u8()?);
                if n > 8 {
                    return Err(format!("LONG1 of {n} bytes does not fit 64 bits"));
                }
                let bytes = r.take(n)?;
                let fill = if bytes.last().is_some_and(|b| b & 0x80 != 0) {
                    0xFF
                } else {
                    0
                };
                let mut full = [fill; 8];
                full[..n].copy_from_slice(bytes);
                stack.push(Value::Int(i64::from_le_bytes(full)));
            }
            b'G' => stack.push(Value::Float(f64::from_be_bytes(r.le()?))),
            b'X' => {
                let n = u32::from_le_bytes(r.le()?) as usize;
                stack.push(Value::Str(r.string(n)?));
            }
            0x8c => {
                let n = usize::from(r.u8()?);
                stack.push(Value::Str(r.string(n)?));
            }
            0x8d => {
                let n =
                    usize::try_from(u64::from_le_bytes(r.le()?)).map_err(|_| "string too long")?;
                stack.push(Value::Str(r.string(n)?));
            }
            b'C' => {
                let n = usize::from(r.u8()?);
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'B' => {
                let n = u32::from_le_bytes(r.le()?) as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'c' => {
                let (module, name) = (r.line()?, r.line()?);
                stack.push(Value::Global(Global::resolve(&module, &name)?));
            }
            0x93 => {
                let (name, module) = (pop(&mut stack)?, pop(&mut stack)?);
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return Err("STACK_GLOBAL needs two strings".into());
                };
                stack.push(Value::Global(Global::resolve(&module, &name)?));
            }
            b'q' | b'r' | 0x94 => {
                let key = match op {
                    b'q' => u64::from(r.u8()?),
                    b'r' => u64::from(u32::from_le_bytes(r.le()?)),
                    _ => memo.len() as u64,
                };
                let top = stack.last().ok_or("memo put on an empty stack")?;
                memo.insert(key, top.clone());
            }
            b'h' | b'j' => {
                let key = if op == b'h' {
                    u64::from(r.u8()?)
                } else {
                    u64::from(u32::from_le_bytes(r.le()?))
                };
                let value = memo.get(&key).ok_or(format!("memo key {key} unset"))?;
                // The copy is as large as the value: charged before it is made.
                budget.measure(value)?;
                stack.push(value.clone());
            }
            b'0' => {
                pop(&mut stack)?;
            }
            b'a' | b'e' => {
                let items = if op == b'a' {
                    vec![pop(&mut stack)?]
                } else {
                    pop_mark(&mut stack, &mut marks)?
                };
                match stack.last_mut() {
                    Some(list @ Value::List(_)) => {
                        if let Value::List(values) = list {
                            values.extend(items);
                        }
                        budget.measure(list)?;
                    }
                    _ => return Err("APPEND to something that is not a list".into()),
                }
            }
            b's' | b'u' => {
                let items = if op == b's' {
                    let v = pop(&mut stack)?;
                    vec![pop(&mut stack)?, v]
                } else {
                    pop_mark(&mut stack, &mut marks)?
                };
                if items.len() % 2 != 0 {
                    return Err("SETITEMS with an odd number of items".into());
                }
                let Some(Value::Dict(dict)) = stack.last_mut() else {
                    return Err("SETITEM on something that is not a dict".into());
                };
                let mut items = items.into_iter();
                while let (Some(k), Some(v)) = (items.next(), items.next()) {
                    budget.spend(dict.len())?; // the search for an equal key
                    match dict.iter_mut().find(|(key, _)| *key == k) {
                        Some(entry) => entry.1 = v,
                        None => dict.push((k, v)),
                    }
                }
                budget.measure(stack.last().expect("the dict is on the stack"))?;
            }
            b'R' => {
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                stack.push(reduce(callable, args)?);
            }
            b'b' => {
                // BUILD on a state_dict sets its `_metadata` attribute (layer versions): ignored.
                let _state = pop(&mut stack)?;
                match stack.last() {
                    Some(Value::Dict(_)) => {}
                    other => {
                        return Err(format!(
                            "refused BUILD of a {}",
                            other.map_or("nothing", Value::kind)
                        ))
                    }
                }
            }
            b'Q' => {
                let pid = pop(&mut stack)?;
                stack.push(persistent_load(pid)?);
            }
            other => {
                return Err(format!(
                    "refused pickle opcode 0x{other:02x} ({:?}) at byte {at}",
                    char::from(other)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_and_refusals() {
        // pickle.dumps({'a': (1, -2, 'x'), 'b': [True, None, 1.5]}, protocol=2)
        let ok = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01J\xfe\xff\xff\xffX\x01\x00\x00\x00xq\x02\x87q\x03X\x01\x00\x00\x00bq\x04]q\x05(\x88NG?\xf8\x00\x00\x00\x00\x00\x00eu.";
        let v = unpickle(ok).unwrap();
        let Value::Dict(items) = v else {
            panic!("not a dict: {v:?}")
        };
        assert_eq!(
            items[0],
            (
                Value::Str("a".into()),
                Value::Tuple(vec![Value::Int(1), Value::Int(-2), Value::Str("x".into())])
            )
        );
        assert_eq!(
            items[1].1,
            Value::List(vec![Value::Bool(true), Value::None, Value::Float(1.5)])
        );
        let err = unpickle(b"\x80\x02cbuiltins\neval\n.").unwrap_err();
        assert!(err.contains("refused global 'builtins.eval'"), "{err}");
        // NEWOBJ builds an arbitrary object: refused as an opcode.
        let err = unpickle(b"\x80\x02)\x81.").unwrap_err();
        assert!(err.contains("refused pickle opcode 0x81"), "{err}");
        assert!(unpickle(b"\x80\x02(").unwrap_err().contains("truncated"));
    }

    #[test]
    fn pickle_bombs_are_stopped() {
        // A "billion laughs": each memo entry is a pair of copies of the previous one, so 60
        // steps of 6 bytes would build 2^60 values.
        let mut laughs = b"\x80\x02]\x94".to_vec();
        for key in 0..60u8 {
            laughs.extend_from_slice(&[b'h', key, b'h', key, 0x86, 0x94]);
        }
        laughs.push(b'.');
        let err = unpickle(&laughs).unwrap_err();
        assert!(
            err.contains("far more values than its size allows"),
            "{err}"
        );
        // 200 nested tuples: deeper than any state_dict (and, much deeper, than the stack).
        let mut deep = b"\x80\x02]".to_vec();
        deep.extend([0x85; 200]);
        deep.push(b'.');
        let err = unpickle(&deep).unwrap_err();
        assert!(err.contains("deeper than 100 levels"), "{err}");
    }
}
