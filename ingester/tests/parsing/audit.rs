//! Findings of the ingestion audit (audit-ingest): each test states what an
//! object's records should become, and fails on main.

use std::borrow::Cow;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use adhouse_core::settings::SourceSettings;
use adhouse_ingester::chunker::Chunker;
use adhouse_ingester::formats::{self, ParseError, Parsed};
use adhouse_ingester::mapping::{ObjectContext, Source};
use tokio::io::{AsyncRead, ReadBuf};

struct Bytes(Vec<u8>, usize);

impl AsyncRead for Bytes {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let end = self.0.len().min(self.1 + buf.remaining());
        let at = self.1;
        buf.put_slice(&self.0[at..end].to_vec());
        self.1 = end;
        Poll::Ready(Ok(()))
    }
}

fn source(file: &str) -> Source {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources").join(file);
    Source::compile(&SourceSettings::from_file(&path).unwrap()).unwrap()
}

/// What each record of `data` becomes, cut by the chunker exactly as the
/// ingester cuts it (quoted newlines as the parser says): `ok <line>`, the
/// rejection's reason with its line, or `file: ...`.
async fn ingest(source: &Source, data: &[u8]) -> Vec<String> {
    let mut parser = formats::parser(source).unwrap();
    let mut chunker = Chunker::new(Bytes(data.to_vec(), 0), 1000, parser.quoted_fields());
    let context = ObjectContext { tenant: "acme", source: &source.name, file: "s3://b/k" };
    let mut out = Vec::new();
    while let Some(chunk) = chunker.next_chunk().await.unwrap() {
        let text = chunk.text();
        for span in &chunk.records {
            let record = text.record(span.range.clone()).unwrap();
            let mut values: Vec<Option<Cow<'_, str>>> = Vec::new();
            out.push(match parser.parse(record, &mut values) {
                Ok(Parsed::Skip) => continue,
                Ok(Parsed::Record) => match source.mapping.apply(&values, context, span.line) {
                    Ok(_) => format!("ok {}", span.line),
                    Err(rejection) => format!("{} {}", rejection.reason, span.line),
                },
                Err(ParseError::Line(rejection)) => format!("{} {}", rejection.reason, span.line),
                Err(ParseError::File(err)) => format!("file: {}", err.0),
            });
        }
    }
    out
}

const SSP_HEADER: &str = "timestamp_ms,event,publisher,placement,partner,campaign,creative,format,country,device,os,site,user,revenue_cpm,cost_cpm,error_code";

fn ssp_line(site: &str) -> String {
    format!("1778371201000,impression,p,plc,dp,c,cr,banner,DE,mobile,ios,{site},u,4.20,1.00,0")
}

/// A UTF-8 byte order mark (Excel's "CSV UTF-8", many Windows tools) before
/// the header row: the first column's name is `\u{feff}timestamp_ms`, so
/// the whole object fails ("no column timestamp_ms") and none of its rows
/// is stored.
#[tokio::test]
async fn a_csv_with_a_byte_order_mark_reads_its_header() {
    let data = format!("\u{feff}{SSP_HEADER}\n{}\n", ssp_line("a"));
    assert_eq!(ingest(&source("ssp-csv.toml"), data.as_bytes()).await, ["ok 2"]);
}

/// The same mark before the first JSON line rejects that line as `bad_json`.
#[tokio::test]
async fn a_jsonl_object_with_a_byte_order_mark_keeps_its_first_line() {
    let line = r#"{"ts":"2026-05-10T00:00:01Z","ev":"imp","pub":"p","plc":"x","dp":"d","fmt":"video"}"#;
    let data = format!("\u{feff}{line}\n{line}\n");
    assert_eq!(ingest(&source("vast-jsonl.toml"), data.as_bytes()).await, ["ok 1", "ok 2"]);
}

/// A gzip object padded with zero bytes after its last member (some
/// shippers and tape/block writers pad to a block size): `gzip -d` reads it
/// ("trailing zero bytes ignored"), but the multi-member decoder takes the
/// zeros for a next member's header and fails with `InvalidData`. The
/// ingester then marks the object failed and never inserts the chunk that
/// was being read: its rows are lost although every byte of data is intact.
#[tokio::test]
async fn a_gzip_object_padded_with_zeros_after_its_last_member_is_read_whole() {
    use std::io::Write as _;
    use tokio::io::AsyncReadExt as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"one\ntwo\n").unwrap();
    let mut data = gz.finish().unwrap();
    data.extend_from_slice(&[0; 512]);
    let (_, mut decoded) = adhouse_ingester::decode::decompress(Bytes(data, 0)).await.unwrap();
    let mut text = Vec::new();
    let read = decoded.read_to_end(&mut text).await.map_err(|err| (err.kind(), err.to_string()));
    assert_eq!(read.map(|_| text), Ok(b"one\ntwo\n".to_vec()));
}
