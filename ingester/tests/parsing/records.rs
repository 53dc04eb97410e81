//! Record parsers with the example sources' mappings.

use std::borrow::Cow;

use adhouse_core::event::EventType;
use adhouse_core::settings::SourceSettings;
use adhouse_ingester::formats::{self, ParseError, Parsed};
use adhouse_ingester::mapping::{ObjectContext, Source};

fn source(file: &str) -> Source {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources").join(file);
    Source::compile(&SourceSettings::from_file(&path).unwrap()).unwrap()
}

/// Parses `lines` as one object; each line's event summary or error reason.
fn run(source: &Source, lines: &[&str]) -> Vec<String> {
    let mut parser = formats::parser(source).unwrap();
    let context = ObjectContext { tenant: "acme", source: &source.name, file: "s3://b/k" };
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let mut values: Vec<Option<Cow<'_, str>>> = Vec::new();
        match parser.parse(line, &mut values) {
            Ok(Parsed::Skip) => {}
            Ok(Parsed::Record) => out.push(match source.mapping.apply(&values, context, i as u64 + 1) {
                Ok(e) => format!(
                    "{} {} {:?} {} {} {} {}",
                    e.tenant, e.ts.unix_timestamp(), e.event_type, e.publisher_id, e.country, e.revenue_micros, e.user_id_hash != 0
                ),
                Err(rejection) => rejection.reason.to_owned(),
            }),
            Err(ParseError::Line(rejection)) => out.push(rejection.reason.to_owned()),
            Err(ParseError::File(err)) => out.push(format!("file: {}", err.0)),
        }
    }
    out
}

#[test]
fn jsonl_maps_enums_money_and_defaults_and_rejects_bad_lines_by_reason() {
    let vast = source("vast-jsonl.toml");
    let out = run(&vast, &[
        r#"{"ts":"2026-05-10T00:00:01Z","ev":"imp","pub":"p\u00e9","plc":"x","dp":"d","fmt":"video","geo":"US","uid":"u1","price":0.0042,"extra":{"nested":[1]}}"#,
        r#"{"ts":"2026-05-10T00:00:01Z","ev":"clk","pub":"p","plc":"x","dp":"d","fmt":"video","price":null}"#,
        r#"{"ts":"2026-05-10T00:00:01Z","ev":"zzz","pub":"p","plc":"x","dp":"d","fmt":"video"}"#,
        r#"{"ts":"10/05/2026","ev":"imp","pub":"p","plc":"x","dp":"d","fmt":"video"}"#,
        r#"{"ts":"2026-05-10T00:00:01Z","ev":"imp","plc":"x","dp":"d","fmt":"video"}"#,
        r#"{"ts":"2026-05-10T00:00:01Z","ev":"imp","pub":"#,
        "",
    ]);
    assert_eq!(out, [
        "acme 1778371201 Impression pé US 4200 true",
        "acme 1778371201 Click p  0 false",
        "unknown_enum",
        "bad_timestamp",
        "missing_field",
        "bad_json",
    ]);
    assert_eq!(EventType::from_name("video_midpoint"), Some(EventType::VideoMidpoint));
}

#[test]
fn csv_reads_its_header_quotes_and_column_counts() {
    let ssp = source("ssp-csv.toml");
    let header = "timestamp_ms,event,publisher,placement,partner,campaign,creative,format,country,device,os,site,user,revenue_cpm,cost_cpm,error_code";
    let out = run(&ssp, &[
        header,
        r#"1778371201000,impression,"pub, ""quoted""",plc,dp,c,cr,banner,DE,mobile,ios,s.example,u,4.20,1.00,0"#,
        "1778371201000,impression,p,plc,dp",
    ]);
    assert_eq!(out, [r#"acme 1778371201 Impression pub, "quoted" DE 4200 true"#, "column_count"]);

    let out = run(&ssp, &["timestamp_ms,event", "1,impression"]);
    assert!(out[0].starts_with("file: the file has no column \"format\" (columns: timestamp_ms, event)"), "{out:?}");
}

#[test]
fn w3c_reads_fields_from_its_directive_and_the_query_string() {
    let pixel = source("pixel-w3c.toml");
    let out = run(&pixel, &[
        "#Version: 1.0",
        "#Fields: date time x-edge-location cs-uri-query cs(Referer)",
        "2026-05-10\t00:00:01\tFRA\tev=imp&pub=p%20q&plc=x&dp=d&fmt=banner&geo=JP&p=0.5&uid=\t-",
        "2026-05-10\t00:00:01\tFRA",
    ]);
    assert_eq!(out, ["acme 1778371201 Impression p q JP 500000 false", "column_count"]);

    let out = run(&pixel, &["2026-05-10\t00:00:01\tFRA"]);
    assert!(out[0].contains("before the #Fields: directive"), "{out:?}");
}
