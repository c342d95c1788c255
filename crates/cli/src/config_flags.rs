//! Between flags and configuration fields: parsing the configuration's named values (optimiser,
//! schedule, dataset, ...) from flags, and naming a configuration error by its flag.
use anyhow::anyhow;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use serde::de::DeserializeOwned;

/// The datasets' names, as flags take them.
pub const DATASETS: &[&str] = &["mnist", "fashion-mnist", "cifar10", "cifar100", "folder"];

/// A parser for the configuration enum `T`, accepting exactly `names` (shown by `--help`), which
/// are the names `T` has in `config.toml`.
pub fn names<T: DeserializeOwned + Clone + Send + Sync + 'static>(
    names: &'static [&'static str],
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(names).map(|name| {
        serde_json::from_value(serde_json::Value::String(name))
            .expect("every listed name is a variant")
    })
}

/// The flag that sets a configuration field, for fields whose flag is not the field's last part
/// with dashes.
const SPECIAL: [(&str, &str); 10] = [
    ("adversarial", "--adversarial"),
    ("adversarial.steps", "--steps"),
    ("optimizer.name", "--optimizer"),
    ("checkpoint.every", "--checkpoint-every"),
    ("schedule.kind", "--schedule"),
    ("schedule.interval", "--schedule-interval"),
    ("clip.norm", "--clip-grad-norm"),
    ("clip.value", "--clip-grad-value"),
    ("optimizer.lookahead.k", "--lookahead"),
    ("optimizer.lookahead.alpha", "--lookahead-alpha"),
];

/// Configuration errors about the configuration as a whole or its sections, not one flag.
const NOT_FLAGS: [&str; 3] = ["config", "data", "schedule"];

/// The flag for the dotted configuration field `field` (`data.val_fraction` → `--val-fraction`).
pub fn flag_of(field: &str) -> String {
    SPECIAL.iter().find(|(f, _)| *f == field).map_or_else(
        || {
            let last = field.rsplit('.').next().unwrap_or(field);
            // The [adversarial] section's flags carry an `adv-` prefix.
            let prefix = if field.starts_with("adversarial.") {
                "adv-"
            } else {
                ""
            };
            format!("--{prefix}{}", last.replace('_', "-"))
        },
        |(_, flag)| flag.to_string(),
    )
}

/// A library error as the command line shows it: configuration errors name the flag.
pub fn cli_error(e: convkit_train::Error) -> anyhow::Error {
    match e {
        convkit_train::Error::Config { field, msg } if !NOT_FLAGS.contains(&field.as_str()) => {
            anyhow!("{} ({field}): {msg}", flag_of(&field))
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_map_to_their_flags() {
        assert_eq!(flag_of("data.val_fraction"), "--val-fraction");
        assert_eq!(flag_of("optimizer.lr"), "--lr");
        assert_eq!(flag_of("clip.norm"), "--clip-grad-norm");
        assert_eq!(flag_of("epochs"), "--epochs");
        assert_eq!(flag_of("adversarial.eps"), "--adv-eps");
        assert_eq!(flag_of("adversarial.steps"), "--steps");
        assert_eq!(flag_of("checkpoint.every"), "--checkpoint-every");
    }
}
