//! Conversions of source text into `events` values: timestamps, exact money,
//! integers, user-id hashes and URL query parameters.

use std::borrow::Cow;

use percent_encoding::percent_decode;
use time::format_description::OwnedFormatItem;
use time::parsing::Parsed;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// How a source writes its timestamps.
#[derive(Debug)]
pub enum TimeFormat {
    Rfc3339,
    EpochSeconds,
    EpochMillis,
    /// A strftime pattern. chrono's `%.f`/`%.3f` (a dot and fractional
    /// seconds), which `time` lacks, splits it in two.
    /// `plain`: the pattern is `%Y-%m-%d %H:%M:%S` (with or without `%.f`),
    /// read by a fast path first.
    Pattern { before: OwnedFormatItem, fraction: bool, after: OwnedFormatItem, plain: bool },
}

impl TimeFormat {
    pub fn parse_spec(spec: &str) -> Result<Self, String> {
        Ok(match spec {
            "rfc3339" => Self::Rfc3339,
            "epoch_s" => Self::EpochSeconds,
            "epoch_ms" => Self::EpochMillis,
            pattern => {
                let (before, fraction, after) = match ["%.3f", "%.6f", "%.9f", "%.f"]
                    .iter()
                    .find_map(|token| pattern.split_once(token))
                {
                    Some((before, after)) => (before, true, after),
                    None => (pattern, false, ""),
                };
                let item = |part: &str| {
                    time::format_description::parse_strftime_owned(part)
                        .map_err(|err| format!("invalid time pattern {pattern:?}: {err}"))
                };
                let plain = before == "%Y-%m-%d %H:%M:%S" && after.is_empty();
                Self::Pattern { before: item(before)?, fraction, after: item(after)?, plain }
            }
        })
    }

    /// Milliseconds since the Unix epoch; zone-less patterns are UTC.
    pub fn parse(&self, text: &str) -> Option<i64> {
        match self {
            Self::Rfc3339 => rfc3339_millis(text.as_bytes()),
            Self::EpochMillis => text.parse().ok(),
            Self::EpochSeconds => {
                let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
                let seconds: i64 = seconds.parse().ok()?;
                Some(seconds.checked_mul(1000)? + fraction_millis(fraction.as_bytes())?)
            }
            Self::Pattern { before, fraction, after, plain } => {
                if *plain && let Some(millis) = plain_date_time_millis(text.as_bytes(), *fraction) {
                    return Some(millis);
                }
                let mut parsed = Parsed::new();
                let mut rest = parsed.parse_items(text.as_bytes(), std::slice::from_ref(before)).ok()?;
                let mut millis = 0;
                if *fraction {
                    let digits = rest.strip_prefix(b".")?;
                    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
                    millis = fraction_millis(&digits[..len])?;
                    rest = &digits[len..];
                }
                let rest = parsed.parse_items(rest, std::slice::from_ref(after)).ok()?;
                if !rest.is_empty() {
                    return None;
                }
                let local = PrimitiveDateTime::try_from(parsed).ok()?;
                let offset = UtcOffset::try_from(parsed).unwrap_or(UtcOffset::UTC);
                let instant = local.assume_offset(offset);
                Some(instant.unix_timestamp() * 1000 + millis)
            }
        }
    }
}

/// `%Y-%m-%d %H:%M:%S`, then `.` and digits if `fraction`, without the
/// generic parser, which costs more than the rest of a W3C row. Returns only
/// what the generic parser would: `None` (a leap second, any other shape)
/// leaves the text to it.
fn plain_date_time_millis(s: &[u8], fraction: bool) -> Option<i64> {
    let (date_time, rest) = (s.get(..19)?, &s[19..]);
    if date_time[10] != b' ' || date_time[17..] == *b"60" {
        return None;
    }
    let millis = match rest {
        [] if !fraction => 0,
        [b'.', digits @ ..] if fraction => fraction_millis(digits)?,
        _ => return None,
    };
    Some(rfc3339_millis(date_time)? + millis)
}

/// Up to three digits of a fraction of a second, as milliseconds; finer
/// digits are truncated (the column keeps milliseconds).
fn fraction_millis(digits: &[u8]) -> Option<i64> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((0..3).fold(0, |ms, i| ms * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'))))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM|±HHMM]`, zone-less meaning UTC.
/// Hand-written because it runs once per row and generic parsers cost more
/// than the rest of the row.
fn rfc3339_millis(s: &[u8]) -> Option<i64> {
    fn num(s: &[u8], range: std::ops::Range<usize>) -> Option<i64> {
        let digits = s.get(range)?;
        digits
            .iter()
            .try_fold(0i64, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
    }
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't' | b' ') || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (year, month, day) = (num(s, 0..4)?, num(s, 5..7)?, num(s, 8..10)?);
    let (hour, minute, second) = (num(s, 11..13)?, num(s, 14..16)?, num(s, 17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        millis = fraction_millis(&fraction[..len])?;
        rest = &fraction[len..];
    }
    let offset_minutes = match rest {
        b"" | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone.len() {
                5 if zone[2] == b':' => (num(zone, 0..2)?, num(zone, 3..5)?),
                4 => (num(zone, 0..2)?, num(zone, 2..4)?),
                _ => return None,
            };
            if *sign == b'-' { -(h * 60 + m) } else { h * 60 + m }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(((days * 86_400 + hour * 3600 + minute * 60 + second) - offset_minutes * 60) * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The instant `millis` after the epoch; in `i64` (seconds, then the
/// millisecond), which costs a third of the `i128` nanosecond path.
pub fn millis_to_datetime(millis: i64) -> Option<OffsetDateTime> {
    let seconds = OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000)).ok()?;
    seconds.replace_millisecond(millis.rem_euclid(1000) as u16).ok()
}

/// FNV-1a: stable across releases and platforms (unlike std's hasher), so
/// the same viewer id hashes the same in every file and every version.
pub fn user_hash(id: &str) -> u64 {
    if id.is_empty() {
        return 0;
    }
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    hash.max(1)
}

/// The value of `name` in a URL query string (`a=1&b=x%20y`), decoded;
/// `+` is a space, as in HTML forms. `None` when absent.
pub fn query_param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    raw_query_param(query, name).map(decode_component)
}

/// The value of `name` in a URL query string, as written (still encoded).
pub fn raw_query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// Percent-decoding with `+` as space; invalid UTF-8 is replaced, not fatal.
pub fn decode_component(raw: &str) -> Cow<'_, str> {
    percent_decoded(raw, true)
}

/// One pass of percent-decoding; `+` becomes a space in query-string
/// values (`plus_is_space`) and stays a `+` elsewhere (a user agent's
/// `(+https://...)`). Invalid UTF-8 is replaced, not fatal.
fn percent_decoded(raw: &str, plus_is_space: bool) -> Cow<'_, str> {
    let bytes = raw.as_bytes();
    let encoded = if plus_is_space { memchr::memchr2(b'%', b'+', bytes) } else { memchr::memchr(b'%', bytes) };
    if encoded.is_none() {
        return Cow::Borrowed(raw);
    }
    let spaced = if plus_is_space { Cow::Owned(raw.replace('+', " ")) } else { Cow::Borrowed(raw) };
    Cow::Owned(percent_decode(spaced.as_bytes()).decode_utf8_lossy().into_owned())
}

/// `passes` rounds of percent-decoding, for logs that encode a value more
/// than once: CloudFront writes a query string, already encoded by the
/// client, encoded again, so its parameters need two passes. A value with
/// nothing to decode (most are) is scanned once, not once per pass: a pass
/// that leaves it unchanged would leave it so again.
pub fn decode_passes(value: Cow<'_, str>, passes: u8, plus_is_space: bool) -> Cow<'_, str> {
    let mut value = value;
    for _ in 0..passes {
        let decoded = match percent_decoded(&value, plus_is_space) {
            Cow::Borrowed(_) => break,
            Cow::Owned(decoded) => decoded,
        };
        value = Cow::Owned(decoded);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path of `%Y-%m-%d %H:%M:%S[%.f]` answers exactly as the
    /// generic parser does, leap seconds and odd shapes included.
    #[test]
    fn plain_date_time_fast_path_agrees_with_the_generic_parser() {
        let texts = [
            "2026-05-10 12:34:56", "2026-05-10 12:34:60", "2026-02-30 00:00:00", "2024-02-29 23:59:59",
            "0000-01-01 00:00:00", "2026-05-10 24:00:00", "2026-05-10T12:34:56", "2026-05-10 12:34:56Z",
            " 2026-05-10 12:34:56", "2026-05-10 12:34:56.123", "2026-05-10 12:34:56.", "2026-05-10 12:34:56.1234",
            "2026-05-10 12:34:56.12x", "2026-5-10 12:34:56",
        ];
        for spec in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.3f"] {
            let fast = TimeFormat::parse_spec(spec).unwrap();
            let mut generic = TimeFormat::parse_spec(spec).unwrap();
            let TimeFormat::Pattern { plain, .. } = &mut generic else { panic!("{spec} is a pattern") };
            assert!(*plain, "{spec}");
            *plain = false;
            for text in texts {
                assert_eq!(fast.parse(text), generic.parse(text), "{spec} {text:?}");
            }
        }
        assert_eq!(TimeFormat::parse_spec("%Y-%m-%d %H:%M:%S").unwrap().parse("1970-01-01 00:00:01"), Some(1000));
    }

    #[test]
    fn millis_become_the_instant_the_nanosecond_path_makes() {
        let nanos = |millis: i64| OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok();
        for millis in [0, 1, -1, 999, -999, 1000, -1001, 1_778_416_496_789, -62_135_596_800_000, 253_402_300_799_999, 253_402_300_800_000, i64::MIN, i64::MAX] {
            assert_eq!(millis_to_datetime(millis), nanos(millis), "{millis}");
        }
    }
}
