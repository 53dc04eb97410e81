//! ssp-csv: a header row, then one comma-separated row per event with the
//! time in epoch milliseconds and prices as CPMs with 3 decimals.

use std::io::{self, Write};

use super::{BadReason, Cpm, LineFormat, write_delimited};
use crate::samples::traffic::SampleEvent;

pub struct Csv;

const HEADER: &str = "timestamp_ms,event,publisher,placement,partner,campaign,creative,format,\
                      country,device,os,site,user,revenue_cpm,cost_cpm,error_code\n";

impl LineFormat for Csv {
    const FAULTS: [BadReason; 4] =
        [BadReason::ColumnCount, BadReason::BadTimestamp, BadReason::UnknownEnum, BadReason::MissingField];

    fn write_header(&mut self, out: &mut impl Write) -> io::Result<u64> {
        out.write_all(HEADER.as_bytes())?;
        Ok(1)
    }

    fn write_record(
        &mut self,
        out: &mut impl Write,
        event: &SampleEvent<'_>,
        fault: Option<BadReason>,
    ) -> io::Result<()> {
        let mut time = event.ts_ms.to_string();
        if fault == Some(BadReason::BadTimestamp) {
            // A corrupted digit.
            time.replace_range(6..7, "x");
        }
        write_delimited(out, b',', event, fault, time, Cpm)
    }
}
