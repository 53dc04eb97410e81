use adhouse_core::settings::MoneyUnit;
use adhouse_ingester::mapping::{KeyPattern, TimeFormat, query_param, user_hash};

#[test]
fn money_converts_exactly_to_micros_in_every_unit() {
    use adhouse_ingester::mapping::money_micros as m;
    assert_eq!(m("0.0042", MoneyUnit::Units), Some(4_200));
    assert_eq!(m("12", MoneyUnit::Units), Some(12_000_000));
    assert_eq!(m("-1.5", MoneyUnit::Units), Some(-1_500_000));
    assert_eq!(m("4.2e-3", MoneyUnit::Units), Some(4_200));
    assert_eq!(m("0.1234567", MoneyUnit::Units), Some(123_457), "sub-micro digits round half away from zero");
    assert_eq!(m("4.20", MoneyUnit::Cpm), Some(4_200), "a 4.20 CPM impression is worth 0.0042");
    assert_eq!(m("1.2345", MoneyUnit::Cpm), Some(1_235));
    assert_eq!(m("4200", MoneyUnit::Micros), Some(4_200));
    // 0.1 + 0.2 in floating point is 0.30000000000000004: never here.
    assert_eq!(m("0.1", MoneyUnit::Units).unwrap() + m("0.2", MoneyUnit::Units).unwrap(), m("0.3", MoneyUnit::Units).unwrap());
    for bad in ["", "-", "1.2.3", "12a", "1e", "9999999999999999999999"] {
        assert_eq!(m(bad, MoneyUnit::Units), None, "{bad:?}");
    }
}

#[test]
fn timestamps_parse_in_every_configured_form_to_utc_milliseconds() {
    let utc = 1_778_416_496_789; // 2026-05-10T12:34:56.789Z
    let rfc = TimeFormat::parse_spec("rfc3339").unwrap();
    for text in ["2026-05-10T12:34:56.789Z", "2026-05-10 12:34:56.789", "2026-05-10T14:34:56.789+02:00", "2026-05-10T07:34:56.789-0500"] {
        assert_eq!(rfc.parse(text), Some(utc), "{text}");
    }
    assert_eq!(rfc.parse("2026-05-10T12:34:56Z"), Some(utc - 789));
    for bad in ["2026-02-30T00:00:00Z", "2026-05-10", "2026-05-10T25:00:00Z", "yesterday"] {
        assert_eq!(rfc.parse(bad), None, "{bad}");
    }
    assert_eq!(TimeFormat::parse_spec("epoch_ms").unwrap().parse("1778416496789"), Some(utc));
    assert_eq!(TimeFormat::parse_spec("epoch_s").unwrap().parse("1778416496.789"), Some(utc));
    let pattern = TimeFormat::parse_spec("%Y-%m-%d %H:%M:%S%.3f").unwrap();
    assert_eq!(pattern.parse("2026-05-10 12:34:56.789"), Some(utc));
    let cloudfront = TimeFormat::parse_spec("%Y-%m-%d %H:%M:%S").unwrap();
    assert_eq!(cloudfront.parse("2026-05-10 12:34:56"), Some(utc - 789));
    let clf = TimeFormat::parse_spec("%d/%b/%Y:%H:%M:%S %z").unwrap();
    assert_eq!(clf.parse("10/May/2026:14:34:56 +0200"), Some(utc - 789));
    assert!(TimeFormat::parse_spec("%Q").is_err());
}

#[test]
fn key_patterns_capture_the_tenant_and_span_segments_only_with_double_star() {
    let pattern = KeyPattern::parse("logs/{tenant}/vast/**/*.jsonl*").unwrap();
    assert_eq!(pattern.matches("logs/acme/vast/2026/05/10/13-0.jsonl.gz"), Some("acme"));
    assert_eq!(pattern.matches("logs/acme/vast/x.jsonl"), Some("acme"));
    assert_eq!(pattern.matches("logs/acme/ssp/x.jsonl"), None);
    assert_eq!(pattern.matches("logs//vast/x.jsonl"), None, "an empty tenant is no tenant");
    let flat = KeyPattern::parse("logs/{tenant}/pixel/*.gz").unwrap();
    assert_eq!(flat.matches("logs/globex/pixel/E2.2026-05-10-13.ab.gz"), Some("globex"));
    assert_eq!(flat.matches("logs/globex/pixel/sub/E2.gz"), None, "`*` stays within a segment");
    assert!(KeyPattern::parse("logs/{account}/x").is_err());
}

#[test]
fn query_parameters_are_percent_and_plus_decoded() {
    let query = "ev=imp&dom=news.example&q=a+b%20c&u=%E2%9C%93&empty=&flag";
    assert_eq!(query_param(query, "q").as_deref(), Some("a b c"));
    assert_eq!(query_param(query, "u").as_deref(), Some("✓"));
    assert_eq!(query_param(query, "empty").as_deref(), Some(""));
    assert_eq!(query_param(query, "flag").as_deref(), Some(""));
    assert_eq!(query_param(query, "missing"), None);
}

#[test]
fn user_hashes_are_stable_and_zero_only_for_unknown_viewers() {
    assert_eq!(user_hash(""), 0);
    assert_eq!(user_hash("u-81723"), user_hash("u-81723"));
    assert_ne!(user_hash("u-81723"), user_hash("u-81724"));
    // FNV-1a 64 of "a", a published test vector: the hash never changes between releases.
    assert_eq!(user_hash("a"), 0xaf63_dc4c_8601_ec8c);
}
