//! Writes one file: compression, header lines, then one line per event,
//! streamed through a buffer so a file of any size takes constant memory.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::GzBuilder;
use indicatif::ProgressBar;

use super::inventory::Inventory;
use adhouse_ingester::decode::Compression;

use super::formats::Writer;
use super::manifest::FileTally;
use super::plan::FilePlan;
use super::rng::{Rng, derive};
use super::traffic::Traffic;

/// Rows between progress-bar updates: often enough to look live, rarely
/// enough to cost nothing.
const PROGRESS_STEP: u64 = 8192;

/// Writes `plan` to `path`; returns the tally of its lines and its size.
pub fn write_file(
    plan: &FilePlan,
    inventory: &Inventory,
    bad_every: u64,
    path: &Path,
    progress: &ProgressBar,
) -> io::Result<(FileTally, u64)> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut out = BufWriter::with_capacity(1 << 18, Encoder::new(plan.format.compression(), File::create(path)?)?);
    let mut writer = Writer::new(plan.format, &plan.tenant, Rng::new(derive(plan.seed, &[1])));
    let mut traffic = Traffic::new(inventory, Rng::new(plan.seed));
    let faults = writer.faults();
    let mut tally = FileTally::new(writer.write_header(&mut out)?, inventory.user_pool);
    for row in 0..plan.rows {
        let ts_ms = plan.line_start_ms(row);
        let ordinal = row + 1;
        if bad_every > 0 && ordinal % bad_every == 0 {
            // Reasons rotate, starting per file, so even small files show several.
            let reason = faults[((ordinal / bad_every + u64::from(plan.index)) % faults.len() as u64) as usize];
            writer.write_record(&mut out, &traffic.stray_impression(ts_ms), Some(reason))?;
            tally.bad(reason);
        } else {
            let event = traffic.next_event(ts_ms);
            writer.write_record(&mut out, &event, None)?;
            tally.good(&event, plan.format.carries_cost());
        }
        if ordinal % PROGRESS_STEP == 0 {
            progress.inc(PROGRESS_STEP);
        }
    }
    progress.inc(plan.rows % PROGRESS_STEP);
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?.finish()?;
    Ok((tally, file.metadata()?.len()))
}

/// The compressed stream of a file. Both encoders write the same bytes for
/// the same input on every run: gzip with mtime 0 and a fixed OS byte, zstd
/// single-threaded at a fixed level.
enum Encoder {
    Plain(File),
    Gzip(flate2::write::GzEncoder<File>),
    Zstd(zstd::Encoder<'static, File>),
}

impl Encoder {
    fn new(compression: Compression, file: File) -> io::Result<Self> {
        Ok(match compression {
            Compression::None => Self::Plain(file),
            Compression::Gzip => {
                Self::Gzip(GzBuilder::new().mtime(0).operating_system(255).write(file, flate2::Compression::default()))
            }
            Compression::Zstd => Self::Zstd(zstd::Encoder::new(file, 3)?),
        })
    }

    fn finish(self) -> io::Result<File> {
        match self {
            Self::Plain(file) => Ok(file),
            Self::Gzip(encoder) => encoder.finish(),
            Self::Zstd(encoder) => encoder.finish(),
        }
    }
}

impl Write for Encoder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(file) => file.write(buf),
            Self::Gzip(encoder) => encoder.write(buf),
            Self::Zstd(encoder) => encoder.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(file) => file.flush(),
            Self::Gzip(encoder) => encoder.flush(),
            Self::Zstd(encoder) => encoder.flush(),
        }
    }
}
