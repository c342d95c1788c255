//! Which fields two configurations disagree on, by dotted name (what `--resume` reports when the
//! command line asks for another run than the one being continued).
use super::TrainConfig;
use serde_json::Value;

/// The dotted names of the fields where `a` and `b` differ, with both values:
/// `("optimizer.lr", "0.1", "0.05")`, sorted by name.
pub fn differences(a: &TrainConfig, b: &TrainConfig) -> Vec<(String, String, String)> {
    let (a, b) = (to_value(a), to_value(b));
    let mut out = Vec::new();
    walk("", &a, &b, &mut out);
    out.sort();
    out
}

fn to_value(config: &TrainConfig) -> Value {
    serde_json::to_value(config).expect("a configuration serialises to JSON")
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<(String, String, String)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k)));
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let null = Value::Null;
                walk(
                    &child,
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        _ if a != b => out.push((path.to_string(), show(a), show(b))),
        _ => {}
    }
}

/// A value as a user would write it: strings bare, unset as "(unset)", f32 fields in their
/// shortest form (JSON holds them widened to f64: 0.05 would show as 0.05000000074505806).
fn show(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().expect("an f64 number");
            if (x as f32) as f64 == x {
                (x as f32).to_string()
            } else {
                x.to_string()
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_differing_field_with_both_values() {
        let a = TrainConfig::default();
        let mut b = a.clone();
        assert!(differences(&a, &b).is_empty());
        b.optimizer.lr = Some(0.05);
        b.data.augment = Some("flip".into());
        b.epochs = 3;
        let d = differences(&a, &b);
        assert_eq!(
            d,
            [
                (
                    "data.augment".to_string(),
                    "(unset)".to_string(),
                    "flip".to_string()
                ),
                ("epochs".into(), "1".into(), "3".into()),
                ("optimizer.lr".into(), "(unset)".into(), "0.05".into()),
            ]
        );
    }
}
