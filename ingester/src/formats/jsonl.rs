//! JSON lines: one object per line; only the mapped keys are materialized.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::Unreadable;

use super::{ParseError, Parsed, RecordParser};
use crate::mapping::Rejection;

pub struct JsonlParser {
    fields: Vec<String>,
}

impl JsonlParser {
    pub fn new(fields: Vec<String>) -> Self {
        Self { fields }
    }
}

impl RecordParser for JsonlParser {
    fn parse<'a>(&mut self, record: &'a str, values: &mut Vec<Option<Cow<'a, str>>>) -> Result<Parsed, ParseError> {
        if record.trim().is_empty() {
            return Ok(Parsed::Skip);
        }
        values.clear();
        values.resize(self.fields.len(), None);
        let mut deserializer = serde_json::Deserializer::from_str(record);
        Slots { fields: &self.fields, values }
            .deserialize(&mut deserializer)
            .and_then(|()| deserializer.end())
            .map_err(|err| Rejection::new("bad_json", err.to_string()))?;
        Ok(Parsed::Record)
    }

    fn observe(&mut self, _record: &str) -> Result<(), Unreadable> {
        Ok(())
    }
}

/// Deserializes an object, keeping the raw text of the mapped keys' values.
struct Slots<'s, 'a> {
    fields: &'s [String],
    values: &'s mut Vec<Option<Cow<'a, str>>>,
}

impl<'de, 's> DeserializeSeed<'de> for Slots<'s, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, 's> Visitor<'de> for Slots<'s, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.fields.iter().position(|field| *field == key) {
                Some(slot) => {
                    let raw: &'de RawValue = map.next_value()?;
                    self.values[slot] = scalar(raw.get()).map_err(de::Error::custom)?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The text of a scalar: strings unquoted (and unescaped only when they
/// contain escapes), numbers and booleans verbatim so that money stays exact,
/// `null` as absent.
fn scalar(raw: &str) -> Result<Option<Cow<'_, str>>, String> {
    match raw.as_bytes().first() {
        Some(b'"') if !raw.contains('\\') => Ok(Some(Cow::Borrowed(&raw[1..raw.len() - 1]))),
        Some(b'"') => serde_json::from_str::<String>(raw).map(|s| Some(Cow::Owned(s))).map_err(|e| e.to_string()),
        Some(b'n') => Ok(None),
        Some(b'{' | b'[') => Err(format!("nested value {raw} where a scalar was expected")),
        _ => Ok(Some(Cow::Borrowed(raw))),
    }
}
