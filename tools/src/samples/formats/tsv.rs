//! exchange-tsv: no header row (the source declares the columns), times as
//! `%Y-%m-%d %H:%M:%S%.3f` in UTC, money in integer micros.

use std::fmt;
use std::io::{self, Write};

use super::{BadReason, Civil, LineFormat, write_delimited};
use crate::samples::traffic::SampleEvent;

pub struct Tsv;

impl LineFormat for Tsv {
    const FAULTS: [BadReason; 4] =
        [BadReason::ColumnCount, BadReason::BadTimestamp, BadReason::UnknownEnum, BadReason::MissingField];

    fn write_record(
        &mut self,
        out: &mut impl Write,
        event: &SampleEvent<'_>,
        fault: Option<BadReason>,
    ) -> io::Result<()> {
        let time = LocalTime { at: Civil::from_ms(event.ts_ms), broken: fault == Some(BadReason::BadTimestamp) };
        write_delimited(out, b'\t', event, fault, time, |micros| micros)
    }
}

struct LocalTime {
    at: Civil,
    broken: bool,
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}.{:03}", self.at.date(self.broken), self.at.time(), self.at.milli)
    }
}
