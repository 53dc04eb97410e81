//! CSV (RFC 4180 quoting) and TSV, with a header row or declared columns.

use std::borrow::Cow;

use crate::error::Unreadable;

use super::{ParseError, Parsed, RecordParser, slot_columns};
use crate::mapping::Rejection;

pub struct DelimitedParser {
    fields: Vec<String>,
    delimiter: u8,
    quoted: bool,
    /// Column index of each slot and the column count, once known.
    layout: Option<(Vec<usize>, usize)>,
}

impl DelimitedParser {
    /// `columns` empty: the first record is the header row.
    pub fn new(fields: Vec<String>, delimiter: u8, quoted: bool, columns: &[String]) -> Result<Self, Unreadable> {
        let layout = match columns {
            [] => None,
            columns => Some((slot_columns(&fields, columns)?, columns.len())),
        };
        Ok(Self { fields, delimiter, quoted, layout })
    }

    fn split<'a>(&self, record: &'a str) -> Result<Vec<Cow<'a, str>>, Rejection> {
        if !self.quoted {
            return Ok(record.split(self.delimiter as char).map(Cow::Borrowed).collect());
        }
        let bytes = record.as_bytes();
        let mut columns = Vec::new();
        let mut at = 0;
        loop {
            if bytes.get(at) == Some(&b'"') {
                let (value, end) = quoted_field(record, at + 1)?;
                columns.push(value);
                at = end;
            } else {
                let end = record[at..].find(self.delimiter as char).map_or(record.len(), |i| at + i);
                columns.push(Cow::Borrowed(&record[at..end]));
                at = end;
            }
            match bytes.get(at) {
                None => return Ok(columns),
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
        let close = record[from..]
            .find('"')
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
        let Some((slots, width)) = &self.layout else {
            self.observe(record).map_err(ParseError::File)?;
            return Ok(Parsed::Skip);
        };
        let columns = self.split(record)?;
        if columns.len() != *width {
            return Err(Rejection::new("column_count", format!("{} columns, expected {width}", columns.len())).into());
        }
        values.clear();
        values.extend(slots.iter().map(|&column| Some(columns[column].clone())));
        Ok(Parsed::Record)
    }

    fn observe(&mut self, record: &str) -> Result<(), Unreadable> {
        if self.layout.is_some() || record.is_empty() {
            return Ok(());
        }
        let header = self.split(record).map_err(|r| Unreadable(format!("unreadable header row: {}", r.detail)))?;
        let header: Vec<&str> = header.iter().map(|c| c.trim()).collect();
        self.layout = Some((slot_columns(&self.fields, &header)?, header.len()));
        Ok(())
    }

    fn quoted_newlines(&self) -> bool {
        self.quoted
    }
}
