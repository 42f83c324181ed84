//! Where each key of `cambium.toml` lives (top level or which `[section]`), read from the
//! model's own serde derives so it cannot drift from the keys the file accepts.
//!
//! The model is deserialized from a probe that records the field list every struct asks for
//! (serde passes it to `deserialize_struct`) and answers "absent" for everything else, which
//! works because every table of the model has `#[serde(default)]`.

use std::cell::RefCell;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

/// Where a key belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Home {
    /// A top-level key, written before any `[section]` header.
    TopLevel,
    /// A key of this `[section]`.
    Section(String),
}

impl Home {
    /// "at the top level" or "in [section]".
    pub(crate) fn describe(&self) -> String {
        match self {
            Home::TopLevel => "at the top level".to_string(),
            Home::Section(s) => format!("in [{s}]"),
        }
    }
}

/// The keys of the top level and of each section.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    /// Keys of the top level that hold a plain value (not a table).
    top_level: Vec<&'static str>,
    /// Sections with a fixed set of keys, with those keys.
    sections: Vec<(String, Vec<&'static str>)>,
}

impl Layout {
    /// The layout of the model `T`.
    pub(crate) fn of<T: DeserializeOwned>() -> Layout {
        let found = RefCell::new(Vec::new());
        // Whatever the probe makes of T is thrown away: only the recorded field lists count.
        let _ = T::deserialize(Probe {
            found: &found,
            path: None,
            only: None,
        });
        let root: Vec<&'static str> = found
            .borrow()
            .iter()
            .find(|t| t.path.is_none())
            .and_then(|t| t.fields)
            .map(<[&str]>::to_vec)
            .unwrap_or_default();
        for &field in &root {
            let _ = T::deserialize(Probe {
                found: &found,
                path: None,
                only: Some(field),
            });
        }
        let found = found.into_inner();
        let mut layout = Layout::default();
        for field in root {
            match found.iter().find(|t| t.path == Some(field)) {
                Some(Table {
                    fields: Some(keys), ..
                }) => layout.sections.push((field.to_string(), keys.to_vec())),
                Some(_) => {} // a table of free-form names, such as [pools]
                None => layout.top_level.push(field),
            }
        }
        layout
    }

    /// Where `key` belongs, if exactly one place has it.
    pub(crate) fn home_of(&self, key: &str) -> Option<Home> {
        let mut homes = Vec::new();
        if self.top_level.contains(&key) {
            homes.push(Home::TopLevel);
        }
        for (section, keys) in &self.sections {
            if keys.contains(&key) {
                homes.push(Home::Section(section.clone()));
            }
        }
        match homes.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }
}

/// A table the probe saw: its path (`None` for the top level) and its fixed keys (`None` for
/// a map of free-form names).
struct Table {
    path: Option<&'static str>,
    fields: Option<&'static [&'static str]>,
}

/// A deserializer that records the tables asked of it.
struct Probe<'a> {
    found: &'a RefCell<Vec<Table>>,
    /// The top-level key this value sits under, `None` for the document itself.
    path: Option<&'static str>,
    /// For the document: the one key to present (so that key's value is probed too).
    only: Option<&'static str>,
}

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("a plain value"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_none()
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.found.borrow_mut().push(Table {
            path: self.path,
            fields: None,
        });
        visitor.visit_map(OneKey {
            found: self.found,
            key: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.found.borrow_mut().push(Table {
            path: self.path,
            fields: Some(fields),
        });
        let key = if self.path.is_none() { self.only } else { None };
        visitor.visit_map(OneKey {
            found: self.found,
            key,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct enum identifier ignored_any
    }
}

/// A map with at most one key, whose value is probed in turn.
struct OneKey<'a> {
    found: &'a RefCell<Vec<Table>>,
    key: Option<&'static str>,
}

impl<'de> MapAccess<'de> for OneKey<'_> {
    type Error = de::value::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.key {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        let path = self.key.take();
        seed.deserialize(Probe {
            found: self.found,
            path,
            only: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Config;

    #[test]
    fn knows_where_the_keys_live() {
        let layout = Layout::of::<Config>();
        assert_eq!(layout.home_of("database_url"), Some(Home::TopLevel));
        assert_eq!(
            layout.home_of("parallelism"),
            Some(Home::Section("scheduler".into()))
        );
        assert_eq!(
            layout.home_of("parse_timeout"),
            Some(Home::Section("scheduler".into()))
        );
        // Sections themselves and free-form tables are not keys with a home.
        assert_eq!(layout.home_of("pools"), None);
        assert_eq!(layout.home_of("nonsense"), None);
    }
}
