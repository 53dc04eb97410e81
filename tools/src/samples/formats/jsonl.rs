//! vast-jsonl: one JSON object per line, as in the source's header comment:
//! `{"ts":"2026-05-10T12:34:56.789Z","ev":"imp","pub":"pub-3",...,"err":0}`.
//! Price and cost appear on impressions only (the source defaults them to 0).

use std::io::{self, Write};

use adhouse_core::event::EventType;

use super::{BadReason, Civil, DIMENSION_KEYS, LineFormat, Units, Value, dimensions, event_name};
use crate::samples::traffic::SampleEvent;

pub struct Jsonl;

impl LineFormat for Jsonl {
    const FAULTS: [BadReason; 4] =
        [BadReason::BadJson, BadReason::BadTimestamp, BadReason::UnknownEnum, BadReason::MissingField];

    fn write_record(
        &mut self,
        out: &mut impl Write,
        event: &SampleEvent<'_>,
        fault: Option<BadReason>,
    ) -> io::Result<()> {
        // Every value is an id, code or number of our own: nothing to escape.
        let mut line = Vec::with_capacity(400);
        let at = Civil::from_ms(event.ts_ms);
        let broken = fault == Some(BadReason::BadTimestamp);
        write!(line, "{{\"ts\":\"{}T{}.{:03}Z\"", at.date(broken), at.time(), at.milli)?;
        write!(line, ",\"ev\":\"{}\"", event_name(event, fault, true))?;
        for (key, value) in DIMENSION_KEYS.iter().zip(dimensions(event, fault)) {
            if !matches!(value, Value::Absent) {
                write!(line, ",\"{key}\":\"{value}\"")?;
            }
        }
        if event.kind == EventType::Impression {
            write!(line, ",\"price\":\"{}\",\"cost\":\"{}\"", Units(event.revenue_micros), Units(event.cost_micros))?;
        }
        write!(line, ",\"err\":{}}}", event.error_code)?;
        if fault == Some(BadReason::BadJson) {
            // A writer cut off mid-line: any strict prefix of an object is invalid JSON.
            line.truncate(line.len() * 2 / 3);
        }
        line.push(b'\n');
        out.write_all(&line)
    }
}
