//! CSV (RFC 4180 quoting) and TSV, with a header row or declared columns.

use std::borrow::Cow;

use crate::error::Unreadable;
use crate::text::split_at;

use super::{Layout, ParseError, Parsed, RecordParser};
use crate::mapping::Rejection;

pub struct DelimitedParser {
    fields: Vec<String>,
    delimiter: u8,
    quoted: bool,
    /// Once the column names are known.
    layout: Option<Layout>,
}

impl DelimitedParser {
    /// `columns` empty: the first record is the header row.
    pub fn new(fields: Vec<String>, delimiter: u8, quoted: bool, columns: &[String]) -> Result<Self, Unreadable> {
        let layout = match columns {
            [] => None,
            columns => Some(Layout::new(&fields, columns)?),
        };
        Ok(Self { fields, delimiter, quoted, layout })
    }

    /// Calls `each` with every column's index and value, in order; returns
    /// the number of columns.
    fn columns<'a>(&self, record: &'a str, mut each: impl FnMut(usize, Cow<'a, str>)) -> Result<usize, Rejection> {
        if !self.quoted {
            let mut count = 0;
            for (column, value) in split_at(record, self.delimiter).enumerate() {
                each(column, Cow::Borrowed(value));
                count += 1;
            }
            return Ok(count);
        }
        let bytes = record.as_bytes();
        let mut column = 0;
        let mut at = 0;
        loop {
            if bytes.get(at) == Some(&b'"') {
                let (value, end) = quoted_field(record, at + 1)?;
                each(column, value);
                at = end;
            } else {
                let end = memchr::memchr(self.delimiter, &bytes[at..]).map_or(record.len(), |i| at + i);
                each(column, Cow::Borrowed(&record[at..end]));
                at = end;
            }
            column += 1;
            match bytes.get(at) {
                None => return Ok(column),
                Some(&b) if b == self.delimiter => at += 1,
                Some(_) => return Err(Rejection::new("bad_quoting", "text after a closing quote")),
            }
        }
    }
}

/// The field that starts after the opening quote at `start - 1`; returns it
/// and the offset after its closing quote. `""` is an escaped quote.
fn quoted_field(record: &str, start: usize) -> Result<(Cow<'_, str>, usize), Rejection> {
    let mut value: Option<String> = None;
    let mut from = start;
    loop {
        let close = memchr::memchr(b'"', &record.as_bytes()[from..])
            .map(|i| from + i)
            .ok_or_else(|| Rejection::new("bad_quoting", "unterminated quoted field"))?;
        if record.as_bytes().get(close + 1) == Some(&b'"') {
            value.get_or_insert_with(String::new).push_str(&record[from..=close]);
            from = close + 2;
            continue;
        }
        let text = match value {
            Some(mut owned) => {
                owned.push_str(&record[from..close]);
                Cow::Owned(owned)
            }
            None => Cow::Borrowed(&record[start..close]),
        };
        return Ok((text, close + 1));
    }
}

impl RecordParser for DelimitedParser {
    fn parse<'a>(&mut self, record: &'a str, values: &mut Vec<Option<Cow<'a, str>>>) -> Result<Parsed, ParseError> {
        if record.is_empty() {
            return Ok(Parsed::Skip);
        }
        let Some(layout) = &self.layout else {
            self.observe(record).map_err(ParseError::File)?;
            return Ok(Parsed::Skip);
        };
        values.clear();
        values.resize(self.fields.len(), None);
        let count = self.columns(record, |column, value| layout.put(column, || Some(value), values))?;
        layout.check_width(count)?;
        Ok(Parsed::Record)
    }

    fn observe(&mut self, record: &str) -> Result<(), Unreadable> {
        if self.layout.is_some() || record.is_empty() {
            return Ok(());
        }
        let mut header = Vec::new();
        self.columns(record, |_, name| header.push(name))
            .map_err(|r| Unreadable(format!("unreadable header row: {}", r.detail)))?;
        let header: Vec<&str> = header.iter().map(|c| c.trim()).collect();
        self.layout = Some(Layout::new(&self.fields, &header)?);
        Ok(())
    }

    fn quoted_fields(&self) -> Option<u8> {
        self.quoted.then_some(self.delimiter)
    }
}
