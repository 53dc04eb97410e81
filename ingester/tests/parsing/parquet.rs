//! Parquet objects: chunks per row group, rows rendered as JSON for the
//! mapping, resumption, and files that cannot be read as a whole.

use std::borrow::Cow;
use std::sync::Arc;

use adhouse_core::event::EventType;
use adhouse_core::settings::SourceSettings;
use adhouse_ingester::formats::parquet::RowGroupChunks;
use adhouse_ingester::formats::{self, Parsed};
use adhouse_ingester::mapping::{ObjectContext, Source};
use parquet::basic::Compression;
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType, FloatType, Int32Type,
    Int64Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::parser::parse_message_type;

/// A Parquet file of `schema` with one row group per entry of `groups`;
/// `write` fills column `c` of row group `g`.
fn parquet_file(schema: &str, groups: usize, mut write: impl FnMut(usize, usize, &mut SerializedColumnWriter<'_>)) -> Vec<u8> {
    let schema = Arc::new(parse_message_type(schema).unwrap());
    let properties = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, properties).unwrap();
    for g in 0..groups {
        let mut group = writer.next_row_group().unwrap();
        let mut c = 0;
        while let Some(mut column) = group.next_column().unwrap() {
            write(g, c, &mut column);
            column.close().unwrap();
            c += 1;
        }
        group.close().unwrap();
    }
    writer.into_inner().unwrap()
}

/// A file of one INT64 column `n` numbering the rows 1, 2, … across row groups of `sizes` rows.
fn numbered(sizes: &[i64]) -> Vec<u8> {
    let starts: Vec<i64> = sizes.iter().scan(1, |next, &size| Some(std::mem::replace(next, *next + size))).collect();
    parquet_file("message m { required int64 n; }", sizes.len(), |g, _, column| {
        let values: Vec<i64> = (starts[g]..starts[g] + sizes[g]).collect();
        column.typed::<Int64Type>().write_batch(&values, None, None).unwrap();
    })
}

/// Every chunk from `first_chunk` on: index, record lines, data.
async fn chunks(file: &[u8], fields: &[&str], per_chunk: usize, first_chunk: u64) -> Result<Vec<(u64, Vec<u64>, String)>, String> {
    let fields = fields.iter().map(|f| (*f).to_owned()).collect();
    let mut chunks = RowGroupChunks::open(file, fields, per_chunk, first_chunk).await.map_err(|err| err.to_string())?;
    assert_eq!(chunks.bytes_read, file.len() as u64);
    let mut out = Vec::new();
    while let Some(chunk) = chunks.next_chunk().await.map_err(|err| err.to_string())? {
        let lines = chunk.records.iter().map(|r| r.line).collect();
        out.push((chunk.index, lines, String::from_utf8_lossy(&chunk.data).into_owned()));
    }
    Ok(out)
}

fn rows(range: std::ops::RangeInclusive<u64>) -> String {
    range.map(|n| format!("{{\"n\":{n}}}\n")).collect()
}

#[tokio::test]
async fn each_row_group_is_a_chunk_and_larger_ones_are_cut_into_chunks_of_n_rows() {
    let file = numbered(&[5, 3, 0, 7]);
    let all = chunks(&file, &["n"], 3, 0).await.unwrap();
    let expected = vec![
        (0, vec![1, 2, 3], rows(1..=3)),
        (1, vec![4, 5], rows(4..=5)),
        (2, vec![6, 7, 8], rows(6..=8)),
        (3, vec![9, 10, 11], rows(9..=11)),
        (4, vec![12, 13, 14], rows(12..=14)),
        (5, vec![15], rows(15..=15)),
    ];
    assert_eq!(all, expected);
    // Row groups no larger than N: chunk i is row group i.
    let whole: Vec<u64> = chunks(&file, &["n"], 7, 0).await.unwrap().iter().map(|c| c.1.len() as u64).collect();
    assert_eq!(whole, [5, 3, 7]);
}

#[tokio::test]
async fn a_resumed_object_starts_at_its_next_chunk_even_inside_a_row_group() {
    let file = numbered(&[5, 3, 0, 7]);
    let all = chunks(&file, &["n"], 3, 0).await.unwrap();
    for first in 0..=6 {
        let resumed = chunks(&file, &["n"], 3, first).await.unwrap();
        assert_eq!(resumed, all[first as usize..], "from chunk {first}");
    }
    assert!(chunks(&file, &["n"], 3, 99).await.unwrap().is_empty());
}

const TYPES: &str = "
message events {
  required int64 ts_ms (TIMESTAMP(MILLIS,true));
  required int64 ts_us (TIMESTAMP(MICROS,true));
  required int64 ts_ns (TIMESTAMP(NANOS,true));
  required int32 day (DATE);
  required binary ev (STRING);
  optional binary note (STRING);
  required int64 price (DECIMAL(18,6));
  required fixed_len_byte_array(16) big (DECIMAL(38,2));
  required int32 whole (DECIMAL(9,0));
  required double ratio;
  required float share;
  required boolean flag;
  required binary raw;
  optional group tags (LIST) { repeated group list { optional binary element (STRING); } }
}";

/// Two rows of every scalar type, and a list column.
fn typed_file() -> Vec<u8> {
    parquet_file(TYPES, 1, |_, c, column| {
        let bytes = |values: &[&[u8]]| values.iter().map(|v| ByteArray::from(v.to_vec())).collect::<Vec<_>>();
        match c {
            0 => column.typed::<Int64Type>().write_batch(&[1_778_416_496_789, -1], None, None),
            1 => column.typed::<Int64Type>().write_batch(&[1_778_416_496_789_123, -1], None, None),
            2 => column.typed::<Int64Type>().write_batch(&[1_778_416_496_789_123_456, 1_999_999], None, None),
            3 => column.typed::<Int32Type>().write_batch(&[20_583, -1], None, None),
            4 => column.typed::<ByteArrayType>().write_batch(&bytes(&[b"imp", "clé \"q\"".as_bytes()]), None, None),
            5 => column.typed::<ByteArrayType>().write_batch(&bytes(&[b"x"]), Some(&[0, 1]), None),
            6 => column.typed::<Int64Type>().write_batch(&[4_200, -1], None, None),
            7 => {
                let big = |n: i128| FixedLenByteArray::from(n.to_be_bytes().to_vec());
                column.typed::<FixedLenByteArrayType>().write_batch(&[big(-12_345), big(10i128.pow(37))], None, None)
            }
            8 => column.typed::<Int32Type>().write_batch(&[42, -7], None, None),
            9 => column.typed::<DoubleType>().write_batch(&[0.25, f64::NAN], None, None),
            10 => column.typed::<FloatType>().write_batch(&[0.1, 3.0], None, None),
            11 => column.typed::<BoolType>().write_batch(&[true, false], None, None),
            12 => column.typed::<ByteArrayType>().write_batch(&bytes(&[b"a\tb\x01", b"\xff"]), None, None),
            // Two empty lists.
            13 => column.typed::<ByteArrayType>().write_batch(&[], Some(&[1, 1]), Some(&[0, 0])),
            _ => unreachable!(),
        }
        .unwrap();
    })
}

#[tokio::test]
async fn rows_become_json_with_epoch_millis_exact_decimals_and_null_for_missing_values() {
    let fields = ["ev", "ts_ms", "ts_us", "ts_ns", "day", "note", "price", "big", "whole", "ratio", "share", "flag", "raw"];
    let all = chunks(&typed_file(), &fields, 10, 0).await.unwrap();
    let expected = concat!(
        r#"{"ev":"imp","ts_ms":1778416496789,"ts_us":1778416496789,"ts_ns":1778416496789,"day":1778371200000,"note":null,"#,
        r#""price":0.004200,"big":-123.45,"whole":42,"ratio":0.25,"share":0.1,"flag":true,"raw":"a\tb\u0001"}"#,
        "\n",
        r#"{"ev":"clé \"q\"","ts_ms":-1,"ts_us":-1,"ts_ns":1,"day":-86400000,"note":"x","#,
        r#""price":-0.000001,"big":100000000000000000000000000000000000.00,"whole":-7,"ratio":"NaN","share":3,"flag":false,"raw":"�"}"#,
        "\n",
    );
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].2, expected);
}

#[tokio::test]
async fn binary_that_is_not_utf8_is_copied_as_is_so_the_row_is_rejected_for_its_encoding() {
    let file = typed_file();
    let mut chunks = RowGroupChunks::open(&file[..], vec!["raw".to_owned()], 10, 0).await.unwrap();
    let chunk = chunks.next_chunk().await.unwrap().unwrap();
    let records: Vec<&[u8]> = chunk.records.iter().map(|r| &chunk.data[r.range.clone()]).collect();
    assert_eq!(records, [&br#"{"raw":"a\tb\u0001"}"#[..], &b"{\"raw\":\"\xff\"}"[..]]);
    assert!(std::str::from_utf8(records[1]).is_err());
}

#[tokio::test]
async fn files_that_cannot_be_read_as_mapped_fail_as_a_whole_with_a_clear_reason() {
    let reason = |result: Result<Vec<(u64, Vec<u64>, String)>, String>| result.unwrap_err();
    let file = typed_file();

    assert!(reason(chunks(b"{\"ts\":1}\n", &["ts"], 10, 0).await).starts_with("not a readable Parquet file"));
    assert!(reason(chunks(b"", &["ts"], 10, 0).await).starts_with("not a readable Parquet file"));
    let truncated = &file[..file.len() - 20];
    assert!(reason(chunks(truncated, &["ev"], 10, 0).await).starts_with("not a readable Parquet file"));
    // A damaged page: the footer reads, the row group does not.
    let mut damaged = numbered(&[1000]);
    for byte in &mut damaged[8..200] {
        *byte = 0x5a;
    }
    let damaged = reason(chunks(&damaged, &["n"], 100, 0).await);
    assert!(damaged.starts_with("row group 0: "), "{damaged}");

    let missing = reason(chunks(&file, &["ev", "publisher"], 10, 0).await);
    assert!(missing.starts_with("the file has no column \"publisher\" (columns: ts_ms, ts_us"), "{missing}");
    let nested = reason(chunks(&file, &["tags"], 10, 0).await);
    assert_eq!(nested, "column \"tags\" is nested (a list, map or struct); only scalar columns can be mapped");
}

#[tokio::test]
async fn the_bidder_example_maps_parquet_rows_to_events() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources/bidder-parquet.toml");
    let source = Source::compile(&SourceSettings::from_file(&path).unwrap()).unwrap();
    let schema = "message bidder {
      required int64 event_time (TIMESTAMP(MICROS,true)); required binary event (STRING);
      required binary publisher (STRING); required binary placement (STRING); required binary seat (STRING);
      optional binary campaign (STRING); optional binary creative (STRING); required binary ad_format (STRING);
      required binary country (STRING); required binary device (STRING); required binary os (STRING);
      required binary site_domain (STRING); optional binary user_id (STRING);
      required int64 win_price (DECIMAL(18,6)); required int64 media_cost (DECIMAL(18,6)); optional int32 error_code;
    }";
    let file = parquet_file(schema, 1, |_, c, column| {
        let text = |values: &[&str]| values.iter().map(|v| ByteArray::from(*v)).collect::<Vec<_>>();
        match c {
            0 => column.typed::<Int64Type>().write_batch(&[1_778_416_496_789_123, 1_778_416_497_000_000], None, None),
            1 => column.typed::<ByteArrayType>().write_batch(&text(&["win", "teleport"]), None, None),
            5 | 6 | 12 => column.typed::<ByteArrayType>().write_batch(&text(&["x"]), Some(&[1, 0]), None),
            13 => column.typed::<Int64Type>().write_batch(&[4_200, 0], None, None),
            14 => column.typed::<Int64Type>().write_batch(&[2_100, 0], None, None),
            15 => column.typed::<Int32Type>().write_batch(&[], Some(&[0, 0]), None),
            _ => column.typed::<ByteArrayType>().write_batch(&text(&["v", "v"]), None, None),
        }
        .unwrap();
    });
    let mut chunks = RowGroupChunks::open(&file[..], source.mapping.fields.clone(), 100, 0).await.unwrap();
    let chunk = chunks.next_chunk().await.unwrap().unwrap();
    let mut parser = formats::parser(&source).unwrap();
    let context = ObjectContext { tenant: "acme", source: &source.name, file: "s3://b/k.parquet" };
    let mut values: Vec<Option<Cow<'_, str>>> = Vec::new();
    let mut outcomes = Vec::new();
    for span in &chunk.records {
        let record = std::str::from_utf8(&chunk.data[span.range.clone()]).unwrap();
        assert!(matches!(parser.parse(record, &mut values), Ok(Parsed::Record)));
        outcomes.push(source.mapping.apply(&values, context, span.line).map_err(|r| r.reason));
    }
    let event = outcomes[0].as_ref().unwrap();
    assert_eq!((event.ts.unix_timestamp_nanos() / 1_000_000) as i64, 1_778_416_496_789);
    assert_eq!(event.event_type, EventType::Impression);
    assert_eq!((event.revenue_micros, event.cost_micros, event.error_code), (4_200, 2_100, 0));
    assert_eq!((&*event.campaign_id, &*event.publisher_id, &*event.tenant), ("x", "v", "acme"));
    assert_eq!(outcomes[1].as_ref().err(), Some(&"unknown_enum"), "`teleport` is no event type");
    assert!(chunks.next_chunk().await.unwrap().is_none());
}
