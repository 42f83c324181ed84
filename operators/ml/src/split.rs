//! Reproducible hash splits (what `example_gen`'s `splits: #{ train: 8, eval: 2 }` does).
//!
//! A row's split depends only on its key, never on the other rows or their order:
//! 1. The key is built from the hash-key columns, in the order given (every column, sorted
//!    by name, when none are given): each value's string form, joined with `'\u{1f}'`
//!    (the ASCII unit separator). Strings are used as they are, bools as `true`/`false`,
//!    ints and floats as Rust's `Display` prints them (`3`, `-1.5`, `1e300` prints all
//!    digits, `NaN`). A missing value is the empty string followed by the marker
//!    `'\u{0}'`, so it differs from an empty string.
//! 2. The key's UTF-8 bytes are hashed with 64-bit FNV-1a ([`fnv1a64`]: offset basis
//!    `0xcbf29ce484222325`, prime `0x100000001b3`, XOR then multiply, per byte), which is
//!    the same on every platform and release.
//! 3. `hash % total_weight` picks the split whose cumulative weight range holds it: with
//!    weights `[8, 2]`, 0–7 is the first split, 8–9 the second.

use std::fmt;
use std::fmt::Write as _;

use crate::table::{Column, Table, TableError};

/// The 64-bit FNV-1a hash of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// The separator between the values of a row's key.
pub const KEY_SEPARATOR: char = '\u{1f}';
/// Marks a missing value in a row's key.
pub const MISSING_MARKER: char = '\u{0}';

/// A mistake in the split configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("splits is empty; give at least one split, e.g. #{{ train: 8, eval: 2 }}")]
    NoSplits,
    #[error("split #{index} has an empty name; name every split")]
    EmptyName { index: usize },
    #[error("split '{name}' has weight 0; weights must be 1 or more")]
    ZeroWeight { name: String },
    #[error("split '{name}' is listed twice; split names must be unique")]
    Duplicate { name: String },
}

/// Every mistake in a split configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSplits(pub Vec<SplitError>);

impl fmt::Display for InvalidSplits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msgs: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&msgs.join("; "))
    }
}

impl std::error::Error for InvalidSplits {}

/// Named, weighted splits; assigns keys to splits by hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splitter {
    names: Vec<String>,
    weights: Vec<u32>,
    /// Cumulative weights: split `i` takes hashes (mod total) below `cumulative[i]`.
    cumulative: Vec<u64>,
}

impl Splitter {
    /// Splits from `(name, weight)` pairs in order; reports every empty or repeated name and
    /// every zero weight.
    pub fn new(splits: &[(String, u32)]) -> Result<Splitter, InvalidSplits> {
        let mut errors = Vec::new();
        if splits.is_empty() {
            errors.push(SplitError::NoSplits);
        }
        for (i, (name, weight)) in splits.iter().enumerate() {
            if name.is_empty() {
                errors.push(SplitError::EmptyName { index: i + 1 });
            } else if splits[..i].iter().any(|(n, _)| n == name) {
                errors.push(SplitError::Duplicate { name: name.clone() });
            }
            if *weight == 0 {
                errors.push(SplitError::ZeroWeight { name: name.clone() });
            }
        }
        if !errors.is_empty() {
            return Err(InvalidSplits(errors));
        }
        let cumulative = splits
            .iter()
            .scan(0u64, |acc, (_, w)| {
                *acc += u64::from(*w);
                Some(*acc)
            })
            .collect();
        Ok(Splitter {
            names: splits.iter().map(|(n, _)| n.clone()).collect(),
            weights: splits.iter().map(|(_, w)| *w).collect(),
            cumulative,
        })
    }

    /// The split names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The split weights, in order.
    pub fn weights(&self) -> &[u32] {
        &self.weights
    }

    /// The index of the split that `key` belongs to.
    pub fn split_of(&self, key: &[u8]) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1);
        let r = fnv1a64(key) % total;
        self.cumulative
            .iter()
            .position(|&c| r < c)
            .unwrap_or(self.names.len().saturating_sub(1))
    }
}

/// Splits `table` into one table per split of `splitter` (in its order), rows keeping their
/// order, by hashing each row's key built from `hash_keys` (see the module doc). Fails
/// naming a hash-key column that is not in the table.
pub fn split_table(
    table: &Table,
    hash_keys: &[String],
    splitter: &Splitter,
) -> Result<Vec<Table>, TableError> {
    let columns: Vec<&Column> = if hash_keys.is_empty() {
        let mut fields: Vec<_> = table.fields().iter().collect();
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        fields.into_iter().map(|f| &f.data).collect()
    } else {
        hash_keys
            .iter()
            .map(|k| table.require(k))
            .collect::<Result<_, _>>()?
    };
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); splitter.names.len()];
    let mut key = String::new();
    for i in 0..table.rows() {
        key.clear();
        for (j, c) in columns.iter().enumerate() {
            if j > 0 {
                key.push(KEY_SEPARATOR);
            }
            push_value(&mut key, c, i);
        }
        rows[splitter.split_of(key.as_bytes())].push(i);
    }
    Ok(rows.iter().map(|idx| table.take(idx)).collect())
}

fn push_value(key: &mut String, column: &Column, i: usize) {
    // Writing to a String cannot fail.
    let _ = match column {
        Column::Int(v) => v[i].map(|x| write!(key, "{x}")),
        Column::Float(v) => v[i].map(|x| write!(key, "{x}")),
        Column::Bool(v) => v[i].map(|b| {
            key.push_str(if b { "true" } else { "false" });
            Ok(())
        }),
        Column::Str(v) => v[i].as_deref().map(|s| {
            key.push_str(s);
            Ok(())
        }),
    }
    .unwrap_or_else(|| {
        key.push(MISSING_MARKER);
        Ok(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Field;

    fn splitter(w: &[(&str, u32)]) -> Splitter {
        Splitter::new(
            &w.iter()
                .map(|(n, w)| (n.to_string(), *w))
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    fn table(ids: impl Iterator<Item = i64>) -> Table {
        let ids: Vec<i64> = ids.collect();
        Table::new(vec![
            Field {
                name: "id".into(),
                data: Column::Int(ids.iter().map(|&i| Some(i)).collect()),
            },
            Field {
                name: "v".into(),
                data: Column::Float(ids.iter().map(|&i| Some(i as f64 * 0.5)).collect()),
            },
        ])
        .unwrap()
    }

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn weights_8_2_give_about_80_20() {
        let s = splitter(&[("train", 8), ("eval", 2)]);
        let parts = split_table(&table(0..10_000), &["id".into()], &s).unwrap();
        let (train, eval) = (parts[0].rows(), parts[1].rows());
        assert_eq!(train + eval, 10_000);
        assert!((7_800..=8_200).contains(&train), "train has {train} rows");
    }

    #[test]
    fn a_rows_split_does_not_depend_on_other_rows_or_order() {
        let s = splitter(&[("train", 8), ("eval", 2)]);
        let keys = ["id".to_string()];
        let ids_in = |t: &Table| match t.column("id") {
            Some(Column::Int(v)) => v.iter().flatten().copied().collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        let a = split_table(&table(0..1000), &keys, &s).unwrap();
        let b = split_table(&table((500..3000).rev()), &keys, &s).unwrap();
        for (pa, pb) in a.iter().zip(&b) {
            let mut x: Vec<_> = ids_in(pa).into_iter().filter(|&i| i >= 500).collect();
            let mut y: Vec<_> = ids_in(pb).into_iter().filter(|&i| i < 1000).collect();
            x.sort_unstable();
            y.sort_unstable();
            assert_eq!(x, y);
        }
        // Fixed across runs and platforms: the split of a known key never changes.
        assert_eq!(s.split_of(b"42"), (fnv1a64(b"42") % 10 >= 8) as usize);
    }

    #[test]
    fn all_columns_sorted_by_name_when_no_hash_keys() {
        let s = splitter(&[("a", 1), ("b", 1), ("c", 1)]);
        let t = table(0..300);
        let swapped = Table::new(t.fields().iter().rev().cloned().collect()).unwrap();
        let p = split_table(&t, &[], &s).unwrap();
        let q = split_table(&swapped, &[], &s).unwrap();
        for (x, y) in p.iter().zip(&q) {
            assert_eq!(x.column("id"), y.column("id"));
        }
        let explicit = split_table(&t, &["id".into(), "v".into()], &s).unwrap();
        assert_eq!(explicit, p);
    }

    #[test]
    fn missing_differs_from_empty_string() {
        let mut k1 = String::new();
        push_value(&mut k1, &Column::Str(vec![None]), 0);
        let mut k2 = String::new();
        push_value(&mut k2, &Column::Str(vec![Some(String::new())]), 0);
        assert_ne!(k1, k2);
    }

    #[test]
    fn unknown_hash_key_is_named() {
        let s = splitter(&[("train", 1)]);
        let err = split_table(&table(0..3), &["user".into()], &s).unwrap_err();
        assert_eq!(err.to_string(), "column 'user' is not in the data");
    }

    #[test]
    fn invalid_configs_report_every_mistake() {
        assert_eq!(
            Splitter::new(&[]).unwrap_err().0,
            vec![SplitError::NoSplits]
        );
        let err = Splitter::new(&[("train".into(), 0), (String::new(), 1), ("train".into(), 2)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "split 'train' has weight 0; weights must be 1 or more; \
             split #2 has an empty name; name every split; \
             split 'train' is listed twice; split names must be unique"
        );
    }
}
