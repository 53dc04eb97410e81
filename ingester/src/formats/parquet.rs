//! Parquet objects, cut into chunks by row group.
//!
//! A Parquet file cannot be read as a stream: its footer, at the very end,
//! says where everything is. The object is therefore spooled to a temporary
//! file (never held in memory) and read from there by the `parquet` crate's
//! row API, on a blocking thread that hands chunks to the async side one at a
//! time.
//!
//! Chunks are a pure function of the file, as DESIGN.md requires: row groups
//! in file order, each cut into ⌈rows / N⌉ chunks of N = `chunk_lines` rows
//! (so with row groups of at most N rows, chunk *i* is row group *i*). A
//! resumed object skips committed row groups without decoding them.
//!
//! Each row becomes one JSON object line, parsed by the JSON-lines parser, so
//! that the mapping and the rejection of bad values are those of JSONL:
//! only the mapped top-level columns are read (a projection), and values are
//! rendered as
//!
//! | Parquet | JSON |
//! | --- | --- |
//! | strings, enums, JSON, binary | a string (binary that is not UTF-8 rejects the row: `bad_encoding`) |
//! | booleans, integers, floats | the number or boolean (NaN and infinities as strings, which no numeric rule accepts) |
//! | DECIMAL | its exact decimal text, e.g. `0.004200` |
//! | TIMESTAMP (milli, micro, nano), INT96, DATE | epoch milliseconds: map them with `time = "epoch_ms"` |
//! | TIME | milliseconds since midnight |
//! | null | `null`: the value is absent, so the rule's `default` applies |
//!
//! A mapped column that the file lacks, or that is nested (a list, map or
//! struct), fails the object with a clear reason, as a CSV header without a
//! mapped column does. The record's line number is its 1-based row number in
//! the file.

use std::fs::File;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use ::parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as PhysicalType};
use ::parquet::file::reader::{FileReader, SerializedFileReader};
use ::parquet::record::reader::RowIter;
use ::parquet::record::{Field, Row};
use ::parquet::schema::types::{SchemaDescriptor, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::chunker::{Chunk, RecordSpan};
use crate::error::{StreamError, Unreadable};

const SPOOL_BUFFER_BYTES: usize = 256 << 10;

/// The chunks of one Parquet object, from a given chunk index on.
pub struct RowGroupChunks {
    chunks: mpsc::Receiver<Result<Chunk, String>>,
    reader: Option<tokio::task::JoinHandle<()>>,
    /// Bytes of the object, all read (spooled) before the first chunk.
    pub bytes_read: u64,
}

impl RowGroupChunks {
    /// Spools `body` to a temporary file and starts reading its chunks from
    /// index `first_chunk` on (earlier ones were committed). `fields` are
    /// the mapping's source fields: the columns read. Fails when `body`
    /// cannot be read or the temporary directory written.
    pub async fn open<R: AsyncRead + Unpin>(
        body: R,
        fields: Vec<String>,
        rows_per_chunk: usize,
        first_chunk: u64,
    ) -> Result<Self, StreamError> {
        let (file, bytes_read) = spool(body).await?;
        // The reader reserves room in the channel before it builds a chunk,
        // so memory holds two chunks at most: the one being committed and
        // the next.
        let (sender, chunks) = mpsc::channel(1);
        let reader = tokio::task::spawn_blocking(move || {
            let reading = read_chunks(file, &fields, rows_per_chunk.max(1) as u64, first_chunk, &sender);
            if let Err(reason) = reading {
                let _ = sender.blocking_send(Err(reason));
            }
        });
        Ok(Self { chunks, reader: Some(reader), bytes_read })
    }

    /// The next chunk, `None` after the last one; `Err` with the reason when
    /// the object is not readable Parquet (or not as the mapping expects).
    pub async fn next_chunk(&mut self) -> Result<Option<Chunk>, StreamError> {
        if let Some(chunk) = self.chunks.recv().await {
            return chunk.map(Some).map_err(|reason| Unreadable(reason).into());
        }
        // The channel closes when the reader ends: the end of the object,
        // unless the reader panicked (the `parquet` crate panics on a few
        // malformed inputs), which must not pass for the end.
        match self.reader.take() {
            Some(reader) => match reader.await {
                Ok(()) => Ok(None),
                Err(err) => Err(Unreadable(format!("the Parquet reader failed: {}", panic_message(err))).into()),
            },
            None => Ok(None),
        }
    }
}

fn panic_message(err: tokio::task::JoinError) -> String {
    match err.try_into_panic() {
        Ok(panic) => panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_owned()),
        Err(err) => err.to_string(),
    }
}

/// Copies `body` into a file in the temporary directory (`TMPDIR`), which is
/// unlinked as soon as it is created: the data lives as long as the handle,
/// so nothing is left behind whatever happens next (an error, a panic, a
/// killed process). Disk use is the object's size per object in flight.
async fn spool<R: AsyncRead + Unpin>(mut body: R) -> Result<(File, u64), StreamError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    let path = dir.join(format!("adhouse-{}-{}.parquet", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    // A full or unwritable TMPDIR is the machine's problem, not the object's: retried.
    let local = |err: io::Error| StreamError::Io {
        line: 0,
        source: io::Error::new(err.kind(), format!("cannot spool the Parquet object to {}: {err}", dir.display())),
    };
    let mut file =
        tokio::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).await.map_err(local)?;
    tokio::fs::remove_file(&path).await.map_err(local)?;
    let mut buf = vec![0; SPOOL_BUFFER_BYTES];
    let mut bytes = 0;
    loop {
        let n = body.read(&mut buf).await.map_err(|err| StreamError::from_io(0, err))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).await.map_err(local)?;
        bytes += n as u64;
    }
    file.flush().await.map_err(local)?;
    Ok((file.into_std().await, bytes))
}

/// Reads the chunks of `file` from `first_chunk` on and sends each, in
/// order, until the last or until the receiver is gone. Runs on a blocking
/// thread.
fn read_chunks(
    file: File,
    fields: &[String],
    rows_per_chunk: u64,
    first_chunk: u64,
    sender: &mpsc::Sender<Result<Chunk, String>>,
) -> Result<(), String> {
    let runtime = tokio::runtime::Handle::current();
    let reader = SerializedFileReader::new(file).map_err(|err| format!("not a readable Parquet file: {err}"))?;
    let metadata = reader.metadata();
    let columns = Columns::new(metadata.file_metadata().schema_descr(), fields)?;
    let mut index = 0;
    let mut first_row = 0;
    for group in 0..metadata.num_row_groups() {
        let rows = metadata.row_group(group).num_rows().max(0) as u64;
        let chunks = rows.div_ceil(rows_per_chunk);
        let committed = first_chunk.saturating_sub(index).min(chunks);
        if committed < chunks {
            let group_reader = reader.get_row_group(group).map_err(|err| format!("row group {group}: {err}"))?;
            let mut group_rows = match &columns.projection {
                Some(projection) => Some(
                    RowIter::from_row_group(Some(projection.clone()), group_reader.as_ref())
                        .map_err(|err| format!("row group {group}: {err}"))?,
                ),
                None => None,
            };
            let mut next_row = || -> Result<Option<Row>, String> {
                group_rows.as_mut().map(|rows| rows.next().transpose()).transpose().map(Option::flatten).map_err(
                    |err| format!("row group {group}: {err}"),
                )
            };
            // Rows of committed chunks of a partly committed row group are
            // decoded (the row API cannot seek) and dropped.
            for _ in 0..committed * rows_per_chunk {
                next_row()?;
            }
            for sub in committed..chunks {
                // Waits for room before building, so that at most one chunk
                // waits in the channel.
                let Ok(permit) = runtime.block_on(sender.reserve()) else { return Ok(()) };
                let start = sub * rows_per_chunk;
                let end = (start + rows_per_chunk).min(rows);
                let mut chunk = Chunk::with_capacity(index + sub, 0, 0);
                for row in start..end {
                    let begin = chunk.data.len();
                    match next_row()? {
                        Some(row) => columns.render(&row, &mut chunk.data),
                        // No mapped column: nothing to decode, every row is `{}`.
                        None if columns.projection.is_none() => chunk.data.extend_from_slice(b"{}"),
                        None => return Err(format!("row group {group} ends before its {rows} rows")),
                    }
                    chunk.records.push(RecordSpan { line: first_row + row + 1, range: begin..chunk.data.len(), oversized: None });
                    chunk.data.push(b'\n');
                }
                permit.send(Ok(chunk));
            }
        }
        index += chunks;
        first_row += rows;
    }
    Ok(())
}

/// The mapped columns of a file, in the mapping's slot order.
struct Columns {
    /// The file's schema restricted to them (`None` when there are none).
    projection: Option<Type>,
    /// JSON-escaped names, with quotes.
    keys: Vec<Vec<u8>>,
    /// Whether a plain INT64 column holds nanosecond timestamps.
    nanos: Vec<bool>,
}

impl Columns {
    fn new(schema: &SchemaDescriptor, fields: &[String]) -> Result<Self, String> {
        let root = schema.root_schema();
        let names: Vec<&str> = root.get_fields().iter().map(|column| column.name()).collect();
        let positions = super::slot_columns(fields, &names).map_err(|err| err.0)?;
        let mut selected = Vec::new();
        let mut nanos = Vec::new();
        for position in positions {
            let column = &root.get_fields()[position];
            let info = column.get_basic_info();
            if column.is_group() || (info.has_repetition() && info.repetition() == ::parquet::basic::Repetition::REPEATED) {
                return Err(format!(
                    "column {:?} is nested (a list, map or struct); only scalar columns can be mapped",
                    column.name()
                ));
            }
            if !readable(column.get_physical_type(), info.converted_type()) {
                return Err(format!(
                    "column {:?} has a type this reader does not support ({} {})",
                    column.name(),
                    column.get_physical_type(),
                    info.converted_type()
                ));
            }
            nanos.push(matches!(info.logical_type_ref(), Some(LogicalType::Timestamp(t)) if t.unit == TimeUnit::NANOS));
            selected.push(column.clone());
        }
        let keys = fields
            .iter()
            .map(|field| {
                let mut key = Vec::new();
                json_string(field.as_bytes(), &mut key);
                key
            })
            .collect();
        let projection = if selected.is_empty() {
            None
        } else {
            Some(
                Type::group_type_builder(root.name())
                    .with_fields(selected)
                    .build()
                    .map_err(|err| format!("cannot select the mapped columns: {err}"))?,
            )
        };
        Ok(Self { projection, keys, nanos })
    }

    /// Appends `row` (projected: its columns in slot order) as a JSON object.
    fn render(&self, row: &Row, out: &mut Vec<u8>) {
        out.push(b'{');
        for (slot, (_, field)) in row.get_column_iter().enumerate() {
            if slot > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&self.keys[slot]);
            out.push(b':');
            render_value(field, self.nanos[slot], out);
        }
        out.push(b'}');
    }
}

/// Whether the row API converts this (physical, converted) type pair; it
/// panics on the others, so they are ruled out before reading.
fn readable(physical: PhysicalType, converted: ConvertedType) -> bool {
    use ConvertedType as C;
    match physical {
        PhysicalType::BOOLEAN | PhysicalType::INT96 | PhysicalType::FLOAT | PhysicalType::DOUBLE => true,
        PhysicalType::INT32 => matches!(
            converted,
            C::NONE | C::INT_8 | C::INT_16 | C::INT_32 | C::UINT_8 | C::UINT_16 | C::UINT_32 | C::DATE | C::TIME_MILLIS | C::DECIMAL
        ),
        PhysicalType::INT64 => matches!(
            converted,
            C::NONE | C::INT_64 | C::UINT_64 | C::TIME_MICROS | C::TIMESTAMP_MILLIS | C::TIMESTAMP_MICROS | C::DECIMAL
        ),
        PhysicalType::BYTE_ARRAY => matches!(converted, C::NONE | C::UTF8 | C::ENUM | C::JSON | C::BSON | C::DECIMAL),
        PhysicalType::FIXED_LEN_BYTE_ARRAY => matches!(converted, C::NONE | C::DECIMAL),
    }
}

const MILLIS_PER_DAY: i64 = 86_400_000;

/// One value as JSON text; see the module's table.
fn render_value(field: &Field, nanos: bool, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _ = match field {
        Field::Null => write!(out, "null"),
        Field::Bool(value) => write!(out, "{value}"),
        Field::Byte(value) => write!(out, "{value}"),
        Field::Short(value) => write!(out, "{value}"),
        Field::Int(value) => write!(out, "{value}"),
        Field::Long(value) if nanos => write!(out, "{}", value.div_euclid(1_000_000)),
        Field::Long(value) => write!(out, "{value}"),
        Field::UByte(value) => write!(out, "{value}"),
        Field::UShort(value) => write!(out, "{value}"),
        Field::UInt(value) => write!(out, "{value}"),
        Field::ULong(value) => write!(out, "{value}"),
        Field::Float16(value) => float(f64::from(f32::from(*value)), out),
        // f32's own shortest text: 0.1f32 is "0.1", not 0.10000000149011612.
        Field::Float(value) if value.is_finite() => write!(out, "{value}"),
        Field::Float(value) => float(f64::from(*value), out),
        Field::Double(value) => float(*value, out),
        // The crate's exact text, without the trailing point it gives scale 0.
        Field::Decimal(_) => {
            let text = field.to_string();
            write!(out, "{}", text.strip_suffix('.').unwrap_or(&text))
        }
        Field::Str(value) => {
            json_string(value.as_bytes(), out);
            Ok(())
        }
        Field::Bytes(value) => {
            json_string(value.data(), out);
            Ok(())
        }
        Field::Date(days) => write!(out, "{}", i64::from(*days) * MILLIS_PER_DAY),
        Field::TimeMillis(value) => write!(out, "{value}"),
        Field::TimeMicros(value) => write!(out, "{}", value.div_euclid(1000)),
        Field::TimestampMillis(value) => write!(out, "{value}"),
        Field::TimestampMicros(value) => write!(out, "{}", value.div_euclid(1000)),
        // Ruled out by `Columns::new`; should one appear, the JSON parser
        // rejects the row for a nested value where a scalar was expected.
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => write!(out, "[]"),
    };
}

/// Rust's shortest round-trip text, which never uses an exponent and so is a
/// JSON number; NaN and infinities, which JSON lacks, as strings.
fn float(value: f64, out: &mut Vec<u8>) -> io::Result<()> {
    if value.is_finite() { write!(out, "{value}") } else { write!(out, "\"{value}\"") }
}

/// Appends `bytes` as a JSON string literal. Bytes that are not UTF-8 are
/// copied as they are, so that the record is rejected as `bad_encoding`
/// rather than silently altered.
fn json_string(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    for &byte in bytes {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..0x20 => {
                let _ = write!(out, "\\u{byte:04x}");
            }
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}
