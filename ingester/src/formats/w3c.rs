//! W3C extended log format as CloudFront writes it: `#Version` and
//! `#Fields:` directives, tab-separated values, `-` for an empty value.

use std::borrow::Cow;

use crate::error::Unreadable;

use super::{ParseError, Parsed, RecordParser, slot_columns};
use crate::mapping::Rejection;

pub struct W3cParser {
    fields: Vec<String>,
    /// Column index of each slot and the column count, from `#Fields:`.
    layout: Option<(Vec<usize>, usize)>,
}

impl W3cParser {
    pub fn new(fields: Vec<String>) -> Self {
        Self { fields, layout: None }
    }
}

impl RecordParser for W3cParser {
    fn parse<'a>(&mut self, record: &'a str, values: &mut Vec<Option<Cow<'a, str>>>) -> Result<Parsed, ParseError> {
        if record.is_empty() || record.starts_with('#') {
            self.observe(record).map_err(ParseError::File)?;
            return Ok(Parsed::Skip);
        }
        let Some((slots, width)) = &self.layout else {
            return Err(ParseError::File(Unreadable("data before the #Fields: directive; is this a W3C log?".into())));
        };
        let columns: Vec<&str> = record.split('\t').collect();
        if columns.len() != *width {
            return Err(Rejection::new("column_count", format!("{} columns, expected {width}", columns.len())).into());
        }
        values.clear();
        values.extend(slots.iter().map(|&column| match columns[column] {
            "-" => None,
            value => Some(Cow::Borrowed(value)),
        }));
        Ok(Parsed::Record)
    }

    fn observe(&mut self, record: &str) -> Result<(), Unreadable> {
        if let Some(names) = record.strip_prefix("#Fields:") {
            let names: Vec<&str> = names.split_whitespace().collect();
            self.layout = Some((slot_columns(&self.fields, &names)?, names.len()));
        }
        Ok(())
    }
}
