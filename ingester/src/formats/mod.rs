//! Log formats: each turns one record (a line, or a CSV record) into the
//! values of the mapping's source fields.

mod delimited;
mod jsonl;
pub mod parquet;
mod w3c;

use std::borrow::Cow;

use adhouse_core::settings::Format;

use crate::error::Unreadable;
use crate::mapping::{Rejection, Source};

/// What a parser made of one record.
pub enum Parsed {
    /// `values` holds the record's field values.
    Record,
    /// A header, comment or blank line: no row, no error.
    Skip,
}

pub enum ParseError {
    /// This record is bad; the rest of the object is read on.
    Line(Rejection),
    /// The object fails as a whole (wrong format, or a header that lacks mapped fields).
    File(Unreadable),
}

impl From<Rejection> for ParseError {
    fn from(rejection: Rejection) -> Self {
        Self::Line(rejection)
    }
}

/// Parses the records of one object, in order. Stateful: header lines
/// configure how later records are read.
pub trait RecordParser: Send {
    /// Fills `values` (one entry per slot of the source's mapping, `None`
    /// when absent) from `record`.
    fn parse<'a>(&mut self, record: &'a str, values: &mut Vec<Option<Cow<'a, str>>>) -> Result<Parsed, ParseError>;

    /// Lets a record that is skipped (its chunk was committed earlier) update
    /// header state, so that resuming mid-object reads later records right.
    fn observe(&mut self, record: &str) -> Result<(), Unreadable>;

    /// The delimiter of a format whose fields may be double-quoted (CSV),
    /// for the chunker: a newline inside a quoted field continues the
    /// record, and which quotes open one depends on where fields start.
    fn quoted_fields(&self) -> Option<u8> {
        None
    }
}

/// A fresh parser for one object of `source`. Fails only when declared
/// columns lack a mapped field, which `Source::compile` already rules out.
pub fn parser(source: &Source) -> Result<Box<dyn RecordParser>, Unreadable> {
    let fields = source.mapping.fields.clone();
    Ok(match source.format {
        Format::Jsonl => Box::new(jsonl::JsonlParser::new(fields)),
        Format::Csv => Box::new(delimited::DelimitedParser::new(fields, b',', true, &source.columns)?),
        Format::Tsv => Box::new(delimited::DelimitedParser::new(fields, b'\t', false, &source.columns)?),
        Format::W3c => Box::new(w3c::W3cParser::new(fields)),
        // Parquet rows reach the parser as JSON objects (see `parquet`).
        Format::Parquet => Box::new(jsonl::JsonlParser::new(fields)),
    })
}

/// Which slot each column of a delimited record fills, from the column
/// names: records are read column by column into their slots, without a
/// vector of columns per record.
struct Layout {
    /// Per column, the slot the mapping reads it into, if any.
    slots: Vec<Option<usize>>,
}

impl Layout {
    fn new(fields: &[String], columns: &[impl AsRef<str>]) -> Result<Self, Unreadable> {
        let mut slots = vec![None; columns.len()];
        for (slot, column) in slot_columns(fields, columns)?.into_iter().enumerate() {
            slots[column] = Some(slot);
        }
        Ok(Self { slots })
    }

    /// Stores column `column`'s value in its slot, if the mapping reads it.
    fn put<'a>(&self, column: usize, value: impl FnOnce() -> Option<Cow<'a, str>>, values: &mut [Option<Cow<'a, str>>]) {
        if let Some(&Some(slot)) = self.slots.get(column) {
            values[slot] = value();
        }
    }

    /// Rejects a record of `count` columns unless the header declared as many.
    fn check_width(&self, count: usize) -> Result<(), Rejection> {
        let width = self.slots.len();
        if count != width {
            return Err(Rejection::new("column_count", format!("{count} columns, expected {width}")));
        }
        Ok(())
    }
}

/// Maps each slot to its column index once the column names are known.
fn slot_columns(fields: &[String], columns: &[impl AsRef<str>]) -> Result<Vec<usize>, Unreadable> {
    fields
        .iter()
        .map(|field| {
            columns.iter().position(|c| c.as_ref() == field).ok_or_else(|| {
                let names: Vec<&str> = columns.iter().map(AsRef::as_ref).collect();
                Unreadable(format!("the file has no column {field:?} (columns: {})", names.join(", ")))
            })
        })
        .collect()
}
