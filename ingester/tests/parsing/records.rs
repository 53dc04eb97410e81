//! Record parsers with the example sources' mappings.

use std::borrow::Cow;

use adhouse_core::event::EventType;
use adhouse_core::settings::SourceSettings;
use adhouse_ingester::chunker::Chunker;
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

/// What each record of the object `data` becomes, cut by the chunker as
/// the ingester cuts it: `ok <line>`, the rejection's reason and line, or
/// `file: ...` when the object fails.
async fn ingest(source: &Source, data: &[u8]) -> Vec<String> {
    let mut parser = formats::parser(source).unwrap();
    let mut chunker = Chunker::new(data, 1000, parser.quoted_fields());
    let context = ObjectContext { tenant: "acme", source: &source.name, file: "s3://b/k" };
    let mut out = Vec::new();
    while let Some(chunk) = chunker.next_chunk().await.unwrap() {
        let text = chunk.text();
        for span in &chunk.records {
            let mut values: Vec<Option<Cow<'_, str>>> = Vec::new();
            out.push(match parser.parse(text.record(span.range.clone()).unwrap(), &mut values) {
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

/// A `"` inside an unquoted CSV field is part of its text, for the parser
/// and the chunker alike: the row is read, and so are the lines after it.
#[tokio::test]
async fn a_stray_quote_in_an_unquoted_csv_field_stays_in_its_row() {
    let ssp = source("ssp-csv.toml");
    let stray = ssp_line(r#"news.example/5"-inch"#);
    let data = format!("{SSP_HEADER}\n{}\n{stray}\n{}\n{}\n", ssp_line("a"), ssp_line("b"), ssp_line("c"));
    assert_eq!(ingest(&ssp, data.as_bytes()).await, ["ok 2", "ok 3", "ok 4", "ok 5"]);
}

/// A UTF-8 byte order mark (Excel's "CSV UTF-8", many Windows tools) is not
/// part of the first column's name, nor a line.
#[tokio::test]
async fn a_csv_object_with_a_byte_order_mark_reads_its_header() {
    let data = format!("\u{feff}{SSP_HEADER}\n{}\n", ssp_line("a"));
    assert_eq!(ingest(&source("ssp-csv.toml"), data.as_bytes()).await, ["ok 2"]);
}

#[tokio::test]
async fn a_jsonl_object_with_a_byte_order_mark_keeps_its_first_line() {
    let line = r#"{"ts":"2026-05-10T00:00:01Z","ev":"imp","pub":"p","plc":"x","dp":"d","fmt":"video"}"#;
    let data = format!("\u{feff}{line}\n{line}\n");
    assert_eq!(ingest(&source("vast-jsonl.toml"), data.as_bytes()).await, ["ok 1", "ok 2"]);
}

#[tokio::test]
async fn a_w3c_object_with_a_byte_order_mark_reads_its_directives() {
    let data = concat!(
        "\u{feff}#Version: 1.0\n",
        "#Fields: date time cs-uri-query\n",
        "2026-05-10\t00:00:01\tev=imp&pub=p&plc=x&dp=d&fmt=banner\n",
    );
    assert_eq!(ingest(&source("pixel-w3c.toml"), data.as_bytes()).await, ["ok 3"]);
}

/// Two columns read from one query parameter each get its value; a second
/// rule must not fall back to its default as if the parameter were absent.
#[test]
fn two_rules_on_one_query_parameter_both_read_it() {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources/pixel-w3c.toml"))
        .unwrap()
        .replace(r#"domain = { field = "cs-uri-query", query = "dom","#, r#"domain = { field = "cs-uri-query", query = "pub","#);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pub-twice.toml");
    std::fs::write(&path, text).unwrap();
    let source = Source::compile(&SourceSettings::from_file(&path).unwrap()).unwrap();
    let mut parser = formats::parser(&source).unwrap();
    let context = ObjectContext { tenant: "acme", source: &source.name, file: "s3://b/k" };
    let mut values: Vec<Option<Cow<'_, str>>> = Vec::new();
    assert!(matches!(parser.parse("#Fields: date time cs-uri-query", &mut values), Ok(Parsed::Skip)));
    assert!(matches!(parser.parse("2026-05-10\t00:00:01\tev=imp&pub=p%20q&plc=x&dp=d&fmt=banner", &mut values), Ok(Parsed::Record)));
    let event = source.mapping.apply(&values, context, 1).unwrap();
    assert_eq!((event.publisher_id.as_ref(), event.domain.as_ref()), ("p q", "p q"));
}

/// The 33 fields of a CloudFront standard log, in CloudFront's order.
const CLOUDFRONT_FIELDS: &str = "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end";

/// One pixel request as CloudFront logs it: the client's query string
/// (`pub=caf%C3%A9%20bar`, i.e. `café bar`) encoded once more, the referer
/// and user agent encoded once.
fn cloudfront_line(user_agent: &str) -> String {
    let query = "ev=imp&pub=caf%25C3%25A9%2520bar&plc=plc-1&dp=dp-1&fmt=banner&geo=DE&p=0.0042&note=a%2Bb%26c&cmp=50%2525%2520off";
    let fields = [
        "2026-05-10", "00:00:01", "FRA56-P5", "478", "203.0.113.17", "GET", "d111111abcdef8.cloudfront.net", "/p.gif", "200",
        "https://news.example/article/42%3Fref%3Dhome", user_agent, query, "-", "Hit",
        "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==", "d111111abcdef8.cloudfront.net", "https", "521", "0.001", "-",
        "TLSv1.3", "TLS_AES_128_GCM_SHA256", "Hit", "HTTP/2.0", "-", "-", "11040", "0.001", "Hit", "image/gif", "43", "-", "-",
    ];
    assert_eq!(fields.len(), CLOUDFRONT_FIELDS.split(' ').count());
    fields.join("\t")
}

/// The pixel source's mapping plus plain fields and a query parameter read
/// with `decode` as given: creative_id ← user agent, domain ← referer,
/// campaign_id ← `note`, os ← `cmp`.
fn decoding_source(plain: u8, query: u8) -> Source {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources/pixel-w3c.toml"))
        .unwrap()
        .lines()
        .filter(|line| !["campaign_id", "creative_id", "domain", "os "].iter().any(|column| line.starts_with(column)))
        .collect::<Vec<_>>()
        .join("\n");
    let extra = format!(
        "creative_id = {{ field = \"cs(User-Agent)\", decode = {plain} }}\n\
         domain = {{ field = \"cs(Referer)\", decode = {plain} }}\n\
         campaign_id = {{ field = \"cs-uri-query\", query = \"note\", decode = {query} }}\n\
         os = {{ field = \"cs-uri-query\", query = \"cmp\", decode = {query} }}\n"
    );
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("decoding-{plain}-{query}.toml"));
    std::fs::write(&path, format!("{text}\n{extra}")).unwrap();
    Source::compile(&SourceSettings::from_file(&path).unwrap()).unwrap()
}

/// Publisher, campaign (`note`), os (`cmp`), creative (user agent), domain (referer) of each line.
fn decoded(source: &Source, user_agents: &[&str]) -> Vec<[String; 5]> {
    let mut parser = formats::parser(source).unwrap();
    let context = ObjectContext { tenant: "acme", source: &source.name, file: "s3://b/k" };
    let header = format!("#Fields: {CLOUDFRONT_FIELDS}");
    let lines: Vec<String> = user_agents.iter().map(|ua| cloudfront_line(ua)).collect();
    let mut values: Vec<Option<Cow<'_, str>>> = Vec::new();
    assert!(matches!(parser.parse("#Version: 1.0", &mut values), Ok(Parsed::Skip)));
    assert!(matches!(parser.parse(&header, &mut values), Ok(Parsed::Skip)));
    let mut out = Vec::new();
    for line in &lines {
        assert!(matches!(parser.parse(line, &mut values), Ok(Parsed::Record)));
        let e = source.mapping.apply(&values, context, 3).unwrap();
        assert_eq!((e.ts.unix_timestamp(), e.revenue_micros, &*e.country), (1_778_371_201, 4_200, "DE"));
        out.push([&e.publisher_id, &e.campaign_id, &e.os, &e.creative_id, &e.domain].map(|v| v.to_string()));
    }
    out
}

#[test]
fn a_cloudfront_standard_log_line_decodes_its_query_twice_and_its_headers_once() {
    let firefox = "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:125.0)%20Gecko/20100101%20Firefox/125.0";
    let slackbot = "Slackbot%201.0%20(+https://api.slack.com/robots)";
    let out = decoded(&decoding_source(1, 2), &[firefox, slackbot]);
    let expected = |ua: &str| {
        ["café bar", "a b&c", "50% off", ua, "https://news.example/article/42?ref=home"].map(str::to_owned)
    };
    // `+` is a space in query values only: the user agent keeps its `(+https`.
    assert_eq!(out, [
        expected("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
        expected("Slackbot 1.0 (+https://api.slack.com/robots)"),
    ]);

    // The shipped example decodes its query parameters as CloudFront needs.
    let pixel = source("pixel-w3c.toml");
    assert_eq!(decoded(&pixel, &[firefox])[0][0], "café bar");

    // Without the option: one decoding of query values, none of other
    // fields (the publisher keeps the example's `decode = 2`).
    let once = decoded(&decoding_source(0, 1), &[firefox]);
    assert_eq!(once[0], ["café bar", "a+b&c", "50%25%20off", firefox, "https://news.example/article/42%3Fref%3Dhome"].map(str::to_owned));
}

#[test]
fn a_decode_count_beyond_what_any_format_needs_is_rejected_with_its_key() {
    let mut settings = SourceSettings::from_file(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources/pixel-w3c.toml")).unwrap();
    settings.fields.get_mut("publisher_id").unwrap().decode = Some(9);
    let err = Source::compile(&settings).unwrap_err();
    assert!(err.contains("ingest.sources[pixel-w3c].fields.publisher_id") && err.contains("decode"), "{err}");
}

/// The hot path maps every record of an object into one reused row
/// (`Mapping::apply_to`); each row, and each rejection, must be what a
/// fresh row (`Mapping::apply`) makes of the record, whatever came before:
/// rows that set optional columns then rows that default them, rejections
/// midway through the rules, owned (escaped, joined, decoded) values.
#[test]
fn a_row_mapped_in_place_equals_a_fresh_one_whatever_came_before() {
    let objects: [(&str, &[&str]); 4] = [
        ("vast-jsonl.toml", &[
            r#"{"ts":"2026-05-10T00:00:01.5Z","ev":"imp","pub":"p\u00e9","plc":"x","dp":"d","cmp":"c","cr":"cr","fmt":"video","geo":"US","dev":"m","os":"ios","dom":"a.example","uid":"u1","price":"0.0042","cost":"1e-3","err":7}"#,
            r#"{"ts":"2026-05-10T00:00:02Z","ev":"clk","pub":"p","plc":"x","dp":"d","fmt":"video"}"#,
            r#"{"ts":"2026-05-10T00:00:03Z","ev":"zzz","pub":"q","plc":"y","dp":"e","cmp":"c2","fmt":"banner","geo":"FR"}"#,
            r#"{"ts":"2026-05-10T00:00:04Z","ev":"mid","pub":"r","plc":"z","dp":"f","fmt":"video","price":"x"}"#,
            r#"{"ts":"2026-05-10T00:00:05Z","ev":"q3","pub":"s\"t","plc":"z","dp":"f","fmt":"video","err":null,"geo":""}"#,
            r#"{"ts":"2026-05-10T00:00:06Z","ev":"imp","plc":"x","dp":"d","fmt":"video","geo":"DE"}"#,
            r#"{"ts":"2026-05-10T00:00:07Z","ev":"start","pub":"p","plc":"x","dp":"d","fmt":"video"}"#,
        ]),
        ("ssp-csv.toml", &[
            "timestamp_ms,event,publisher,placement,partner,campaign,creative,format,country,device,os,site,user,revenue_cpm,cost_cpm,error_code",
            r#"1778371201000,impression,"pub, ""q""",plc,dp,c,cr,banner,DE,mobile,ios,s.example,u,4.20,1.00,3"#,
            "1778371202000,click,p,plc,dp,,,banner,,,,,,,,",
            "1778371203000,impression,p,plc,dp,c,cr,banner,DE,mobile,ios,s,u,abc,1,0",
            "1778371204000,impression,p,,dp,c,cr,banner,DE,mobile,ios,s,u,1,1,0",
            "1778371205000,video_complete,p,plc,dp,c,cr,video,US,tv,tvos,s,u,0.5,0.25,0",
        ]),
        ("exchange-tsv.toml", &[
            "2026-05-10 00:00:01.123\timpression\tp\tplc\tdp\tc\tcr\tbanner\tDE\tmobile\tios\ts\tu\t4200\t100\t0",
            "2026-05-10 00:00:02.000\tclick\tp\tplc\tdp\t\t\tbanner\t\t\t\t\t\t\t\t",
            "2026-05-10 00:00:60.000\tclick\tp\tplc\tdp\tc\tcr\tbanner\tDE\tmobile\tios\ts\tu\t1\t1\t0",
            "2026-05-10 00:00:03.000\terror\tp\tplc\tdp\tc\tcr\tbanner\tDE\tmobile\tios\ts\tu\t1\t1\t405",
        ]),
        ("pixel-w3c.toml", &[
            "#Version: 1.0",
            "#Fields: date time x-edge-location cs-uri-query cs(Referer)",
            "2026-05-10\t00:00:01\tFRA\tev=imp&pub=p%2520q&plc=x&dp=d&cmp=c&fmt=banner&geo=JP&p=0.5&uid=u\t-",
            "2026-05-10\t00:00:02\tFRA\tev=clk&pub=p&plc=x&dp=d&fmt=banner\t-",
            "2026-05-10\t00:00:03\tFRA\tev=nope&pub=p&plc=x&dp=d&fmt=banner&geo=US\t-",
            "-\t00:00:04\tFRA\tev=imp&pub=p&plc=x&dp=d&fmt=banner\t-",
            "2026-05-10\t00:00:05\tFRA\tev=q1&pub=p+q&plc=x&dp=d&fmt=video&err=402\t-",
        ]),
    ];
    for (file, lines) in objects {
        let source = source(file);
        let mut parser = formats::parser(&source).unwrap();
        let context = ObjectContext { tenant: "acme", source: &source.name, file: "s3://b/k" };
        let mut reused = source.mapping.blank(context);
        let mut rows = 0;
        for (i, line) in lines.iter().enumerate() {
            let mut values: Vec<Option<Cow<'_, str>>> = Vec::new();
            if !matches!(parser.parse(line, &mut values), Ok(Parsed::Record)) {
                continue;
            }
            let fresh = source.mapping.apply(&values, context, i as u64 + 1);
            let in_place = source.mapping.apply_to(&values, context, i as u64 + 1, &mut reused);
            match (fresh, in_place) {
                (Ok(fresh), Ok(())) => {
                    assert_eq!(reused, fresh, "{file} line {}", i + 1);
                    rows += 1;
                }
                (Err(fresh), Err(in_place)) => assert_eq!(in_place, fresh, "{file} line {}", i + 1),
                (fresh, in_place) => panic!("{file} line {}: fresh {fresh:?}, in place {in_place:?}", i + 1),
            }
        }
        assert!(rows >= 2, "{file}: only {rows} rows mapped; the test lines no longer fit the source");
    }
}

/// Event types are resolved through a rule's `values` when the source is
/// compiled; per value, the row must get what the settings say: the mapped
/// name's type, else the value's own, else `unknown_enum`.
#[test]
fn event_types_resolve_as_the_values_table_then_the_names_say() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/sources/vast-jsonl.toml");
    let settings = SourceSettings::from_file(&path).unwrap();
    let table = settings.fields["event_type"].values.clone().unwrap();
    let vast = Source::compile(&settings).unwrap();
    let candidates = ["req", "imp", "clk", "start", "q1", "mid", "q3", "complete", "err", "impression", "video_midpoint", "Imp", "imp ", "im", "zzz", "error", "click"];
    for value in candidates {
        let line = format!(r#"{{"ts":"2026-05-10T00:00:01Z","ev":"{value}","pub":"p","plc":"x","dp":"d","fmt":"video"}}"#);
        let expected = EventType::from_name(table.get(value).map_or(value, String::as_str));
        let got = match run(&vast, &[&line]).pop().unwrap() {
            reason if reason == "unknown_enum" => None,
            row => Some(row.split(' ').nth(2).unwrap().to_owned()),
        };
        assert_eq!(got, expected.map(|t| format!("{t:?}")), "{value:?}");
    }
}
