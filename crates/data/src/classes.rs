//! Class subsets: keep the images of some classes and relabel them `0..k` (transfer-learning
//! experiments pretrain on some classes and fine-tune on others).

use crate::dataset::Dataset;
use crate::error::{Error, Result};

impl Dataset {
    /// The images whose class is in `classes`, in dataset order, relabelled by their position in
    /// `classes` (`[5, 6, 7]`: class 5 becomes 0, 6 becomes 1, 7 becomes 2); the class names follow.
    ///
    /// ```
    /// use convkit_data::Dataset;
    /// let names = ["a", "b", "c"].map(String::from).to_vec();
    /// let ds = Dataset::new(vec![0, 1, 2, 3], vec![0, 1, 2, 1], [1, 1, 1], names).unwrap();
    /// let bc = ds.select_classes(&[1, 2]).unwrap();
    /// assert_eq!((bc.images(), bc.labels()), (&[1u8, 2, 3][..], &[0, 1, 0][..]));
    /// assert_eq!(bc.class_names(), ["b", "c"]);
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty list, a repeated class, or a class the dataset does not
    /// have (the message names it and the number of classes).
    pub fn select_classes(&self, classes: &[usize]) -> Result<Dataset> {
        let count = self.num_classes();
        if classes.is_empty() {
            return Err(Error::Invalid("class selection: no class given".into()));
        }
        let mut new_label = vec![None; count];
        for (k, &class) in classes.iter().enumerate() {
            let slot = new_label.get_mut(class).ok_or_else(|| {
                Error::Invalid(format!(
                    "class selection: there is no class {class}: the dataset has {count} classes (0-{})",
                    count - 1
                ))
            })?;
            if slot.replace(k).is_some() {
                return Err(Error::Invalid(format!(
                    "class selection: class {class} is given twice"
                )));
            }
        }
        let kept: Vec<usize> = (0..self.len())
            .filter(|&i| new_label[self.labels()[i]].is_some())
            .collect();
        let n = self.image_len();
        let mut images = Vec::with_capacity(kept.len() * n);
        for &i in &kept {
            images.extend_from_slice(&self.images()[i * n..(i + 1) * n]);
        }
        let labels = kept
            .iter()
            .map(|&i| new_label[self.labels()[i]].expect("kept above"))
            .collect();
        let names = classes
            .iter()
            .map(|&c| self.class_names()[c].clone())
            .collect();
        Dataset::new(
            images,
            labels,
            [self.channels(), self.height(), self.width()],
            names,
        )
    }
}

/// Parses a class list as written on command lines: comma-separated classes and inclusive ranges,
/// `0-4`, `5,6,7,8,9`, `0-2,7`.
///
/// # Errors
/// [`Error::Invalid`] naming the part that is not a class or a range.
pub fn parse_classes(text: &str) -> Result<Vec<usize>> {
    let bad = |part: &str, why: &str| {
        Error::Invalid(format!(
            "class list '{text}': '{part}' {why} (write classes and ranges such as 0-4 or 5,6,7)"
        ))
    };
    let number = |part: &str, s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| bad(part, "is not a class number"))
    };
    let mut classes = Vec::new();
    for part in text.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(part, a)?, number(part, b)?);
                if a > b {
                    return Err(bad(part, "is an empty range"));
                }
                classes.extend(a..=b);
            }
            None => classes.push(number(part, part)?),
        }
    }
    Ok(classes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits() -> Dataset {
        let labels: Vec<usize> = (0..20).map(|i| i % 10).collect();
        let images = (0..20).map(|i| i as u8).collect();
        let names = (0..10).map(|c| c.to_string()).collect();
        Dataset::new(images, labels, [1, 1, 1], names).unwrap()
    }

    #[test]
    fn selection_keeps_order_and_relabels() {
        let high = digits().select_classes(&[5, 6, 7, 8, 9]).unwrap();
        assert_eq!(high.len(), 10);
        assert_eq!(high.images(), [5, 6, 7, 8, 9, 15, 16, 17, 18, 19]);
        assert_eq!(high.labels(), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
        assert_eq!(high.class_names(), ["5", "6", "7", "8", "9"]);
        let swapped = digits().select_classes(&[3, 1]).unwrap();
        assert_eq!(swapped.labels(), [1, 0, 1, 0]);
    }

    #[test]
    fn bad_selections_are_named() {
        let err = digits().select_classes(&[3, 12]).unwrap_err().to_string();
        assert!(
            err.contains("there is no class 12: the dataset has 10 classes (0-9)"),
            "{err}"
        );
        let err = digits().select_classes(&[3, 3]).unwrap_err().to_string();
        assert!(err.contains("class 3 is given twice"), "{err}");
        assert!(digits().select_classes(&[]).is_err());
    }

    #[test]
    fn class_lists_parse() {
        assert_eq!(parse_classes("0-4").unwrap(), [0, 1, 2, 3, 4]);
        assert_eq!(parse_classes("5,6, 7").unwrap(), [5, 6, 7]);
        assert_eq!(parse_classes("0-2,7").unwrap(), [0, 1, 2, 7]);
        for (bad, why) in [
            ("4-2", "'4-2' is an empty range"),
            ("a", "'a' is not a class number"),
            ("1,,2", "'' is not"),
        ] {
            let err = parse_classes(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
