//! W3C extended log format as CloudFront writes it: `#Version` and
//! `#Fields:` directives, tab-separated values, `-` for an empty value.

use std::borrow::Cow;

use crate::error::Unreadable;
use crate::text::split_at;

use super::{Layout, ParseError, Parsed, RecordParser};

pub struct W3cParser {
    fields: Vec<String>,
    /// From `#Fields:`.
    layout: Option<Layout>,
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
        let Some(layout) = &self.layout else {
            return Err(ParseError::File(Unreadable("data before the #Fields: directive; is this a W3C log?".into())));
        };
        values.clear();
        values.resize(self.fields.len(), None);
        let mut count = 0;
        for (column, value) in split_at(record, b'\t').enumerate() {
            layout.put(column, || (value != "-").then_some(Cow::Borrowed(value)), values);
            count += 1;
        }
        layout.check_width(count)?;
        Ok(Parsed::Record)
    }

    fn observe(&mut self, record: &str) -> Result<(), Unreadable> {
        if let Some(names) = record.strip_prefix("#Fields:") {
            let names: Vec<&str> = names.split_whitespace().collect();
            self.layout = Some(Layout::new(&self.fields, &names)?);
        }
        Ok(())
    }
}
