//! Time in the requester's timezone: ranges, presets, buckets and the
//! comparison period. Instants are UTC epoch seconds; calendar arithmetic
//! (days, months, DST) goes through `jiff` with the IANA database bundled.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode, Result};

/// An IANA timezone, by name and resolved.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    tz: TimeZone,
}

impl Zone {
    pub fn parse(field: &str, name: &str) -> Result<Self> {
        // Names only: a POSIX rule or offset string would be read differently by ClickHouse.
        let plausible = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c));
        match TimeZone::get(name) {
            Ok(tz) if plausible => Ok(Self { name: name.to_owned(), tz }),
            _ => Err(ApiError::invalid(
                ErrorCode::InvalidValue,
                field,
                format!("{name:?} is not an IANA timezone name such as \"UTC\", \"Europe/Berlin\" or \"Asia/Kolkata\""),
            )),
        }
    }

    /// Every name [`Zone::parse`] accepts, from the bundled IANA database.
    pub fn names() -> Vec<String> {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.as_str().to_owned())
            .filter(|name| Self::parse("timezone", name).is_ok())
            .collect();
        names.sort();
        names
    }

    fn datetime(&self, epoch: i64) -> DateTime {
        self.tz.to_datetime(timestamp(epoch))
    }

    fn offset_secs(&self, epoch: i64) -> i64 {
        i64::from(self.tz.to_offset(timestamp(epoch)).seconds())
    }

    /// The latest instant in `(after, upto]` where the UTC offset changes.
    /// (A transition that only renames the zone's abbreviation is none.)
    fn offset_change_in(&self, after: i64, upto: i64) -> Option<i64> {
        self.tz
            .preceding(timestamp(upto + 1))
            .map(|transition| transition.timestamp().as_second())
            .take_while(|&at| at > after)
            .find(|&at| self.offset_secs(at) != self.offset_secs(at - 1))
    }

    /// The first instant after `after` where the UTC offset changes.
    fn next_offset_change(&self, after: i64) -> Option<i64> {
        self.tz
            .following(timestamp(after))
            .map(|transition| transition.timestamp().as_second())
            .find(|&at| at > after && self.offset_secs(at) != self.offset_secs(at - 1))
    }

    /// `[from, to)` cut into pieces of constant UTC offset: each piece's
    /// start (the first is `first_start`, at or before `from`) and offset.
    /// The SQL buckets rows with these, so that ClickHouse applies exactly
    /// the offsets this API computed its buckets with.
    pub fn offset_pieces(&self, first_start: i64, range: TimeRange) -> (Vec<i64>, Vec<i64>) {
        let mut starts = vec![first_start];
        let mut offsets = vec![self.offset_secs(range.from)];
        let mut at = range.from;
        while let Some(change) = self.next_offset_change(at).filter(|&change| change < range.to) {
            starts.push(change);
            offsets.push(self.offset_secs(change));
            at = change;
        }
        (starts, offsets)
    }

    /// The local calendar date of `epoch`, as `YYYY-MM-DD`.
    pub fn local_date(&self, epoch: i64) -> String {
        self.datetime(epoch).date().to_string()
    }

    /// The local calendar days `range` touches, as `[first, end)` dates
    /// (`YYYY-MM-DD`): a day partly in the range counts whole, since daily
    /// numbers cannot be cut.
    pub fn dates(&self, range: TimeRange) -> (String, String) {
        let last = self.datetime(range.to - 1).date();
        let end = last.checked_add(1.day()).unwrap_or(last);
        (self.local_date(range.from), end.to_string())
    }

    /// The local dates `[first, end)` when both ends of `range` start a
    /// local day (`Granularity::Day`: midnight, or the first instant of a
    /// date whose midnight a DST gap skips).
    fn whole_days(&self, range: TimeRange) -> Option<(Date, Date)> {
        let starts_day = |epoch: i64| Granularity::Day.bucket_start(epoch, self) == epoch;
        (starts_day(range.from) && starts_day(range.to)).then(|| (self.datetime(range.from).date(), self.datetime(range.to).date()))
    }

    /// The local clock time `epoch` is at, but 00:00 for the start of a day:
    /// a day that a DST gap starts at 01:00 still counts its hours from
    /// midnight, as the day before does.
    fn clock_start(&self, epoch: i64) -> DateTime {
        let datetime = self.datetime(epoch);
        if Granularity::Day.bucket_start(epoch, self) == epoch { datetime.date().to_datetime(jiff::civil::Time::midnight()) } else { datetime }
    }

    fn midnight(&self, date: Date) -> i64 {
        date.to_zoned(self.tz.clone()).map_or(0, |zoned| zoned.timestamp().as_second())
    }

    fn instant(&self, datetime: DateTime) -> Option<i64> {
        Some(datetime.to_zoned(self.tz.clone()).ok()?.timestamp().as_second())
    }

    /// RFC 3339 with the local offset, e.g. `2026-05-10T00:00:00+09:00`.
    pub fn format(&self, epoch: i64) -> String {
        let zoned = timestamp(epoch).to_zoned(self.tz.clone());
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

fn timestamp(epoch: i64) -> Timestamp {
    Timestamp::from_second(epoch).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `[from, to)` in UTC epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub from: i64,
    pub to: i64,
}

impl TimeRange {
    pub fn days(self) -> f64 {
        (self.to - self.from) as f64 / 86_400.0
    }

    /// Whether both ends fall on whole UTC hours.
    pub fn whole_hours(self) -> bool {
        self.from % 3_600 == 0 && self.to % 3_600 == 0
    }
}

/// How a resolved range is reported back.
#[derive(Debug, Serialize)]
pub struct ResolvedRange {
    pub from: String,
    pub to: String,
    pub timezone: String,
}

impl ResolvedRange {
    pub fn new(range: TimeRange, zone: &Zone) -> Self {
        Self { from: zone.format(range.from), to: zone.format(range.to), timezone: zone.name.clone() }
    }
}


crate::names::named_enum!(
    /// Size of the time buckets of a series; `none` for one row per group.
    Granularity {
        None = "none",
        Minute = "minute",
        Hour = "hour",
        Day = "day",
        Week = "week",
        Month = "month",
        Quarter = "quarter",
        Year = "year",
    }
);

crate::names::named_enum!(Preset {
    Today = "today",
    Yesterday = "yesterday",
    Last7Days = "last_7_days",
    Last30Days = "last_30_days",
    Last90Days = "last_90_days",
    ThisMonth = "this_month",
    LastMonth = "last_month",
    ThisYear = "this_year",
    LastYear = "last_year",
    Last3Years = "last_3_years",
});

crate::names::named_enum!(
    /// The comparison period. The `_to_date` forms compare a period still
    /// running (today, this month, this year) with the same elapsed part of
    /// the one before: today until now with yesterday until the same local
    /// time, not with all of yesterday.
    Compare {
        None = "none",
        PreviousPeriod = "previous_period",
        PreviousYear = "previous_year",
        PreviousPeriodToDate = "previous_period_to_date",
        PreviousYearToDate = "previous_year_to_date",
    }
);

impl Granularity {
    /// The longest range a series of this granularity may cover, so that a
    /// chart never asks for more points than a screen can show.
    pub fn max_range_days(self) -> i64 {
        match self {
            Self::Minute => 3,
            Self::Hour => 92,
            Self::Day => 1_100,
            Self::Week => 3_660,
            Self::None | Self::Month | Self::Quarter | Self::Year => 36_600,
        }
    }

    /// Start of the bucket holding `epoch`: the one definition of buckets,
    /// which the SQL follows (`query::sql`). A minute or hour bucket starts at
    /// every whole local minute or hour and at every change of the UTC
    /// offset, so each bucket has one offset and starts at its label: on Lord
    /// Howe Island (+10:30 ↔ +11:00) the hour after the change starts on the
    /// change, and the repeated hour of a fold is two buckets. Days, weeks,
    /// months, quarters and years start at local midnight (or, where a DST
    /// gap skips midnight, the first instant of the date).
    pub fn bucket_start(self, epoch: i64, zone: &Zone) -> i64 {
        let cut = |unit: i64| {
            let whole = epoch - (epoch + zone.offset_secs(epoch)).rem_euclid(unit);
            zone.offset_change_in(whole, epoch).unwrap_or(whole)
        };
        let date = zone.datetime(epoch).date();
        match self {
            Self::None => epoch,
            Self::Minute => cut(60),
            Self::Hour => cut(3_600),
            Self::Day => zone.midnight(date),
            Self::Week => zone.midnight(date.checked_sub(i64::from(date.weekday().to_monday_zero_offset()).days()).unwrap_or(date)),
            Self::Month => zone.midnight(date.first_of_month()),
            Self::Quarter => {
                let month = (date.month() - 1) / 3 * 3 + 1;
                zone.midnight(Date::new(date.year(), month, 1).unwrap_or(date))
            }
            Self::Year => zone.midnight(date.first_of_year()),
        }
    }

    fn next_bucket(self, start: i64, zone: &Zone) -> i64 {
        let date = zone.datetime(start).date();
        let later = |span: jiff::Span| zone.midnight(date.checked_add(span).unwrap_or(date));
        match self {
            Self::None => i64::MAX,
            Self::Minute | Self::Hour => {
                let unit = if self == Self::Minute { 60 } else { 3_600 };
                let whole = self.bucket_start(start + unit, zone);
                zone.next_offset_change(start).map_or(whole, |change| whole.min(change))
            }
            Self::Day => later(1.day()),
            Self::Week => later(7.days()),
            Self::Month => later(1.month()),
            Self::Quarter => later(3.months()),
            Self::Year => later(1.year()),
        }
    }

    /// Starts of the buckets that overlap `range`, oldest first (the first
    /// may start before `range.from`). `none` has one bucket, labelled `from`.
    pub fn buckets(self, range: TimeRange, zone: &Zone) -> Vec<i64> {
        let mut starts = vec![self.bucket_start(range.from, zone)];
        loop {
            let next = self.next_bucket(*starts.last().expect("not empty"), zone);
            if next >= range.to || next <= *starts.last().expect("not empty") {
                return starts;
            }
            starts.push(next);
        }
    }

    /// Every instant where the query cuts time: the range ends and the
    /// bucket starts inside it. A table can answer only if its buckets do
    /// not straddle any of them.
    pub fn cuts(self, range: TimeRange, zone: &Zone) -> Vec<i64> {
        let mut cuts = self.buckets(range, zone);
        cuts[0] = range.from;
        cuts.push(range.to);
        cuts
    }
}

/// Wire form of `time_range`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeRequest {
    pub from: Option<String>,
    pub to: Option<String>,
    pub preset: Option<String>,
}

/// Resolves the request's range in `zone`; dates are whole local days and
/// `to` is inclusive for them, timestamps are instants and `to` is exclusive.
pub fn resolve(request: &TimeRangeRequest, zone: &Zone, now: i64) -> Result<TimeRange> {
    let range = match (request.preset.as_deref(), request.from.as_deref(), request.to.as_deref()) {
        (Some(preset), None, None) => preset_range(Preset::parse("time_range.preset", preset)?, zone, now),
        (None, Some(from), Some(to)) => {
            TimeRange { from: endpoint("time_range.from", from, zone, false)?, to: endpoint("time_range.to", to, zone, true)? }
        }
        _ => {
            return Err(ApiError::invalid(
                ErrorCode::InvalidValue,
                "time_range",
                "give either `preset` or both `from` and `to`",
            ));
        }
    };
    if range.from >= range.to {
        return Err(ApiError::invalid(ErrorCode::InvalidValue, "time_range", "`from` must be before `to`"));
    }
    // ClickHouse DateTime spans 1970..2106; the API keeps well inside it.
    if range.from < 0 || range.to > 4_102_444_800 {
        return Err(ApiError::invalid(ErrorCode::InvalidValue, "time_range", "must lie between 1970 and 2100"));
    }
    Ok(range)
}

fn endpoint(field: &str, text: &str, zone: &Zone, is_end: bool) -> Result<i64> {
    let invalid = || {
        ApiError::invalid(
            ErrorCode::InvalidValue,
            field,
            format!(
                "{text:?} is neither a date (2026-05-10) nor a timestamp in whole seconds \
                 (2026-05-10T08:00:00Z, 2026-05-10T08:00:00+02:00, or 2026-05-10T08:00:00 in the request's timezone)"
            ),
        )
    };
    // Exactly `YYYY-MM-DD` is a date: the date parser alone would also take a
    // timestamp and drop its time of day. Anything else must have the shape
    // `YYYY-MM-DDTHH:MM:SS`, then an optional fraction and an optional offset.
    let shaped = |pattern: &str, text: &str| {
        text.len() == pattern.len() && pattern.bytes().zip(text.bytes()).all(|(p, b)| if p == b'9' { b.is_ascii_digit() } else { p == b })
    };
    if !shaped("9999-99-99", text) && !text.get(..19).is_some_and(|start| shaped("9999-99-99T99:99:99", start)) {
        return Err(invalid());
    }
    if shaped("9999-99-99", text) {
        let date = text.parse::<Date>().map_err(|_| invalid())?;
        let date = if is_end { date.checked_add(1.day()).map_err(|_| invalid())? } else { date };
        return Ok(zone.midnight(date));
    }
    let epoch_nanos = if let Ok(instant) = text.parse::<Timestamp>() {
        instant.as_nanosecond()
    } else {
        let local = text.parse::<DateTime>().map_err(|_| invalid())?;
        local.to_zoned(zone.tz.clone()).map_err(|_| invalid())?.timestamp().as_nanosecond()
    };
    if epoch_nanos % 1_000_000_000 != 0 {
        return Err(invalid());
    }
    i64::try_from(epoch_nanos / 1_000_000_000).map_err(|_| invalid())
}

/// `last_N_days` are the N whole days before today: compared with the N
/// days before them, a running day would look like a drop. `today`,
/// `this_month` and `this_year` run until their end (so they hold what has
/// come in so far); compare them `_to_date`.
fn preset_range(preset: Preset, zone: &Zone, now: i64) -> TimeRange {
    let today = zone.datetime(now).date();
    let day = |offset: i64| zone.midnight(today.checked_add(offset.days()).unwrap_or(today));
    let month_start = today.first_of_month();
    let months = |offset: i64| zone.midnight(month_start.checked_add(offset.months()).unwrap_or(month_start));
    let year_start = today.first_of_year();
    let year = |offset: i64| zone.midnight(year_start.checked_add(offset.years()).unwrap_or(year_start));
    let years = |from: i64, to: i64| TimeRange { from: year(from), to: year(to) };
    match preset {
        Preset::Today => TimeRange { from: day(0), to: day(1) },
        Preset::Yesterday => TimeRange { from: day(-1), to: day(0) },
        Preset::Last7Days => TimeRange { from: day(-7), to: day(0) },
        Preset::Last30Days => TimeRange { from: day(-30), to: day(0) },
        Preset::Last90Days => TimeRange { from: day(-90), to: day(0) },
        Preset::ThisMonth => TimeRange { from: months(0), to: months(1) },
        Preset::LastMonth => TimeRange { from: months(-1), to: months(0) },
        Preset::ThisYear => years(0, 1),
        Preset::LastYear => years(-1, 0),
        // The three whole calendar years before this one: whole years, so
        // that year grouping shows three comparable bars.
        Preset::Last3Years => years(-3, 0),
    }
}

impl Compare {
    /// The period to compare `range` with, `now` being the request's time.
    /// A range of whole local days moves by local dates, so that DST (even a
    /// gap that skips midnight and starts the day at 01:00) never shifts it
    /// by an hour; any other range moves by its duration. A year back starts
    /// on the same date (Feb 29 on Feb 28) and spans as many local days as
    /// the range (calendar months: the same months); a timestamp range keeps
    /// its start's local wall-clock time and its local length. The `_to_date`
    /// forms then end the period as far past its start as `now` is past the
    /// range's start.
    pub fn period(self, range: TimeRange, zone: &Zone, now: i64) -> Option<TimeRange> {
        let days = zone.whole_days(range);
        let starting = |first: Date, back: jiff::Span| Some(TimeRange { from: zone.midnight(first.checked_sub(back).ok()?), to: range.from });
        match self {
            Self::None => None,
            Self::PreviousYear => match days {
                Some((first, end)) => {
                    let start = first.checked_sub(1.year()).ok()?;
                    // From a first of the month the end never clamps; from any
                    // other date it might (Feb 29), so count the days instead.
                    let end = match calendar_unit(first, end) {
                        Some(_) => end.checked_sub(1.year()).ok()?,
                        None => start.checked_add(first.until(end).ok()?).ok()?,
                    };
                    Some(TimeRange { from: zone.midnight(start), to: zone.midnight(end) })
                }
                None => {
                    let (from, to) = (zone.datetime(range.from), zone.datetime(range.to));
                    let start = from.checked_sub(1.year()).ok()?;
                    Some(TimeRange { from: zone.instant(start)?, to: zone.instant(start.checked_add(from.until(to).ok()?).ok()?)? })
                }
            },
            Self::PreviousPeriod => match days {
                Some((first, end)) => starting(first, first.until(end).ok()?),
                None => Some(TimeRange { from: range.from - (range.to - range.from), to: range.from }),
            },
            Self::PreviousYearToDate => Self::PreviousYear.period(range, zone, now).map(|previous| to_date(previous, range, zone, now)),
            Self::PreviousPeriodToDate => {
                let previous = match days {
                    // A calendar month or year steps back by one of its own
                    // kind, so that this month so far meets last month so far.
                    Some((first, end)) => starting(first, calendar_unit(first, end).map_or_else(|| first.until(end), Ok).ok()?)?,
                    None => Self::PreviousPeriod.period(range, zone, now)?,
                };
                Some(to_date(previous, range, zone, now))
            }
        }
    }

    /// Whether the comparison stops where `now` is in a running period.
    pub fn is_to_date(self) -> bool {
        matches!(self, Self::PreviousPeriodToDate | Self::PreviousYearToDate)
    }
}

/// One calendar month or year when the whole days `[first, end)` are
/// exactly that many whole months (from a first of the month) or years
/// (from a first of January).
fn calendar_unit(first: Date, end: Date) -> Option<jiff::Span> {
    if first.day() != 1 || end.day() != 1 {
        return None;
    }
    let months = (i32::from(end.year()) - i32::from(first.year())) * 12 + i32::from(end.month()) - i32::from(first.month());
    match months {
        12 if first.month() == 1 => Some(1.year()),
        months if months > 0 => Some(i64::from(months).months()),
        _ => None,
    }
}

/// `previous` cut at the same local distance from its start as `now` is
/// from `range`'s start, when `now` lies inside `range` (otherwise the
/// whole of `previous`). The cut is floored to the minute for ranges of up to
/// a day and to the hour beyond, so that a rollup still answers it.
fn to_date(previous: TimeRange, range: TimeRange, zone: &Zone, now: i64) -> TimeRange {
    if now <= range.from || now >= range.to {
        return previous;
    }
    let elapsed = zone.clock_start(range.from).until(zone.datetime(now)).unwrap_or_default();
    let Some(cut) = zone.clock_start(previous.from).checked_add(elapsed).ok().and_then(|datetime| zone.instant(datetime)) else {
        return previous;
    };
    let unit = if range.to - range.from <= 25 * 3_600 { 60 } else { 3_600 };
    let floored = cut - (cut + zone.offset_secs(cut)).rem_euclid(unit);
    TimeRange { from: previous.from, to: floored.clamp(previous.from, previous.to) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> Zone {
        Zone::parse("timezone", name).unwrap()
    }

    fn at(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    #[test]
    fn inclusive_dates_cover_whole_local_days() {
        let tokyo = zone("Asia/Tokyo");
        let request = TimeRangeRequest { from: Some("2026-05-10".into()), to: Some("2026-05-11".into()), preset: None };
        let range = resolve(&request, &tokyo, 0).unwrap();
        assert_eq!(range, TimeRange { from: at("2026-05-09T15:00:00Z"), to: at("2026-05-11T15:00:00Z") });
        assert_eq!(tokyo.format(range.from), "2026-05-10T00:00:00+09:00");
    }

    #[test]
    fn a_range_covers_every_local_day_it_touches() {
        let tokyo = zone("Asia/Tokyo");
        let whole = TimeRange { from: at("2026-05-09T15:00:00Z"), to: at("2026-05-11T15:00:00Z") };
        assert_eq!(tokyo.dates(whole), ("2026-05-10".to_owned(), "2026-05-12".to_owned()));
        let today_so_far = TimeRange { from: at("2026-05-09T15:00:00Z"), to: at("2026-05-10T03:00:00Z") };
        assert_eq!(tokyo.dates(today_so_far), ("2026-05-10".to_owned(), "2026-05-11".to_owned()));
    }

    #[test]
    fn hour_buckets_in_kolkata_start_at_half_past_utc() {
        let kolkata = zone("Asia/Kolkata");
        let range = TimeRange { from: at("2026-05-10T00:00:00Z"), to: at("2026-05-10T03:00:00Z") };
        let buckets = Granularity::Hour.buckets(range, &kolkata);
        assert_eq!(buckets, [at("2026-05-09T23:30:00Z"), at("2026-05-10T00:30:00Z"), at("2026-05-10T01:30:00Z"), at("2026-05-10T02:30:00Z")]);
    }

    #[test]
    fn a_day_with_a_dst_change_is_one_bucket_of_23_hours() {
        let new_york = zone("America/New_York");
        let range = TimeRange { from: at("2026-03-08T05:00:00Z"), to: at("2026-03-10T04:00:00Z") };
        let buckets = Granularity::Day.buckets(range, &new_york);
        assert_eq!(buckets, [at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z")]);
        let back = Compare::PreviousPeriod.period(range, &new_york, 0).unwrap();
        assert_eq!(new_york.format(back.from), "2026-03-06T00:00:00-05:00");
    }

    #[test]
    fn weeks_start_on_monday_and_quarters_on_their_first_month() {
        let utc = zone("UTC");
        assert_eq!(Granularity::Week.bucket_start(at("2026-05-10T12:00:00Z"), &utc), at("2026-05-04T00:00:00Z"));
        assert_eq!(Granularity::Quarter.bucket_start(at("2026-05-10T12:00:00Z"), &utc), at("2026-04-01T00:00:00Z"));
    }

    #[test]
    fn previous_year_keeps_local_wall_clock_times() {
        let berlin = zone("Europe/Berlin");
        let range = TimeRange { from: at("2026-07-01T22:00:00Z"), to: at("2026-07-02T22:00:00Z") };
        let back = Compare::PreviousYear.period(range, &berlin, 0).unwrap();
        assert_eq!(berlin.format(back.from), "2025-07-02T00:00:00+02:00");
    }

    #[test]
    fn last_n_days_are_the_whole_days_before_today() {
        let tokyo = zone("Asia/Tokyo");
        let now = at("2026-12-01T05:30:00Z"); // 14:30 in Tokyo
        let range = preset_range(Preset::Last7Days, &tokyo, now);
        assert_eq!((tokyo.format(range.from), tokyo.format(range.to)), ("2026-11-24T00:00:00+09:00".into(), "2026-12-01T00:00:00+09:00".into()));
    }

    #[test]
    fn last_year_and_the_last_3_years_are_whole_calendar_years_before_this_one() {
        let tokyo = zone("Asia/Tokyo");
        let now = at("2026-12-01T05:30:00Z");
        let shown = |range: TimeRange| (tokyo.format(range.from), tokyo.format(range.to));
        assert_eq!(shown(preset_range(Preset::LastYear, &tokyo, now)), ("2025-01-01T00:00:00+09:00".into(), "2026-01-01T00:00:00+09:00".into()));
        assert_eq!(shown(preset_range(Preset::Last3Years, &tokyo, now)), ("2023-01-01T00:00:00+09:00".into(), "2026-01-01T00:00:00+09:00".into()));
    }

    #[test]
    fn running_periods_are_compared_with_the_same_elapsed_part_of_the_previous_one() {
        let berlin = zone("Europe/Berlin");
        let shown = |range: TimeRange| (berlin.format(range.from), berlin.format(range.to));
        let now = at("2026-12-15T12:05:30Z"); // 13:05:30 in Berlin
        let today = preset_range(Preset::Today, &berlin, now);
        let yesterday = Compare::PreviousPeriodToDate.period(today, &berlin, now).unwrap();
        assert_eq!(shown(yesterday), ("2026-12-14T00:00:00+01:00".into(), "2026-12-14T13:05:00+01:00".into()), "to the minute");
        let month = preset_range(Preset::ThisMonth, &berlin, now);
        let last_month = Compare::PreviousPeriodToDate.period(month, &berlin, now).unwrap();
        assert_eq!(shown(last_month), ("2026-11-01T00:00:00+01:00".into(), "2026-11-15T13:00:00+01:00".into()), "a month back, to the hour");
        let year = preset_range(Preset::ThisYear, &berlin, now);
        let last_year = Compare::PreviousYearToDate.period(year, &berlin, now).unwrap();
        assert_eq!(shown(last_year), ("2025-01-01T00:00:00+01:00".into(), "2025-12-15T13:00:00+01:00".into()));
        let over = preset_range(Preset::Yesterday, &berlin, now);
        assert_eq!(Compare::PreviousPeriodToDate.period(over, &berlin, now), Compare::PreviousPeriod.period(over, &berlin, now), "a finished period compares whole");
        // Across the spring change the cut keeps the local time of day.
        let spring = at("2026-03-30T10:00:00Z"); // 12:00 CEST, the day after the change
        let today = preset_range(Preset::Today, &berlin, spring);
        assert_eq!(shown(Compare::PreviousPeriodToDate.period(today, &berlin, spring).unwrap()).1, "2026-03-29T12:00:00+02:00");
    }

    #[test]
    fn timestamps_with_an_offset_or_without_one_are_instants_not_whole_days() {
        let kolkata = zone("Asia/Kolkata");
        let range = |from: &str, to: &str| {
            resolve(&TimeRangeRequest { from: Some(from.into()), to: Some(to.into()), preset: None }, &kolkata, 0).unwrap()
        };
        let hour = TimeRange { from: at("2026-11-28T00:00:00Z"), to: at("2026-11-28T01:00:00Z") };
        assert_eq!(range("2026-11-28T05:30:00+05:30", "2026-11-28T06:30:00+05:30"), hour);
        assert_eq!(range("2026-11-28T05:30:00", "2026-11-28T06:30:00"), hour, "local, in the request's timezone");
        assert_eq!(range("2026-11-28T09:00:00+09:00", "2026-11-28T10:00:00+09:00"), hour);
        assert_eq!(range("2026-11-28T00:00:00Z", "2026-11-28T01:00:00Z"), hour);
        assert_eq!(range("2026-11-28", "2026-11-28").days(), 1.0, "a date is a whole local day");
        for bad in ["2026-11-28 ", "2026-1-28", "20261128", "2026-11-28T05:30:00.5Z", "2026-11-28T05:30", "2026-11-28 05:30:00Z", "2026-11-28T05:30:0é"] {
            let request = TimeRangeRequest { from: Some(bad.into()), to: Some("2026-12-01".into()), preset: None };
            assert!(resolve(&request, &kolkata, 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn lord_howe_hours_start_at_each_whole_local_hour_and_at_each_half_hour_offset_change() {
        let lord_howe = zone("Australia/Lord_Howe");
        // 2026-10-04 02:00 +10:30 becomes 02:30 +11:00 (at 15:30 UTC the day before).
        let spring = TimeRange { from: at("2026-10-03T14:30:00Z"), to: at("2026-10-03T17:00:00Z") };
        let buckets = Granularity::Hour.buckets(spring, &lord_howe);
        assert_eq!(buckets, [at("2026-10-03T14:30:00Z"), at("2026-10-03T15:30:00Z"), at("2026-10-03T16:00:00Z")]);
        assert_eq!(lord_howe.format(buckets[1]), "2026-10-04T02:30:00+11:00");
        // 2026-04-05 02:00 +11:00 becomes 01:30 +10:30 (at 15:00 UTC the day before).
        let autumn = TimeRange { from: at("2026-04-04T14:00:00Z"), to: at("2026-04-04T16:30:00Z") };
        let buckets = Granularity::Hour.buckets(autumn, &lord_howe);
        assert_eq!(buckets, [at("2026-04-04T14:00:00Z"), at("2026-04-04T15:00:00Z"), at("2026-04-04T15:30:00Z")]);
        for t in (autumn.from..autumn.to).step_by(300) {
            let start = Granularity::Hour.bucket_start(t, &lord_howe);
            assert!(buckets.contains(&start) && start <= t, "{t}: every instant lies in a listed bucket");
        }
        let (starts, offsets) = lord_howe.offset_pieces(autumn.from, autumn);
        assert_eq!((starts, offsets), (vec![autumn.from, at("2026-04-04T15:00:00Z")], vec![39_600, 37_800]));
    }

    #[test]
    fn quarter_hour_zones_cut_hours_at_a_quarter_past_utc() {
        for (name, first) in [("Asia/Kathmandu", "2026-05-09T23:15:00Z"), ("Australia/Eucla", "2026-05-09T23:15:00Z")] {
            let range = TimeRange { from: at("2026-05-10T00:00:00Z"), to: at("2026-05-10T02:00:00Z") };
            assert_eq!(Granularity::Hour.buckets(range, &zone(name))[0], at(first), "{name}");
        }
    }

    /// Cairo skips midnight on 2026-04-24 (00:00 +02:00 becomes 01:00 +03:00),
    /// so that day starts at 01:00. Its previous period is all of 04-23,
    /// midnight to midnight, not 04-23 from 01:00.
    #[test]
    fn previous_period_of_a_day_that_starts_after_a_midnight_dst_gap_is_the_whole_day_before() {
        let cairo = zone("Africa/Cairo");
        let now = at("2026-04-25T09:00:00Z");
        let yesterday = preset_range(Preset::Yesterday, &cairo, now);
        assert_eq!(cairo.format(yesterday.from), "2026-04-24T01:00:00+03:00");
        let day_before = TimeRange { from: Granularity::Day.bucket_start(at("2026-04-23T12:00:00Z"), &cairo), to: yesterday.from };
        assert_eq!(cairo.format(day_before.from), "2026-04-23T00:00:00+02:00");
        let previous = Compare::PreviousPeriod.period(yesterday, &cairo, now).unwrap();
        assert_eq!((cairo.format(previous.from), cairo.format(previous.to)), (cairo.format(day_before.from), cairo.format(day_before.to)), "previous_period");
    }

    /// A year back, 2025-04-24 starts at midnight in Cairo (that year's gap
    /// starts 04-25 at 01:00 +03:00, the instant of 00:00 +02:00): the whole
    /// of it, from midnight, not from 01:00.
    #[test]
    fn previous_year_of_a_day_that_starts_after_a_midnight_dst_gap_is_the_whole_day() {
        let cairo = zone("Africa/Cairo");
        let now = at("2026-04-25T09:00:00Z");
        let yesterday = preset_range(Preset::Yesterday, &cairo, now);
        let year_back = Compare::PreviousYear.period(yesterday, &cairo, now).unwrap();
        assert_eq!((cairo.format(year_back.from), cairo.format(year_back.to)), ("2025-04-24T00:00:00+02:00".into(), "2025-04-25T01:00:00+03:00".into()), "previous_year");
    }

    /// Today so far on the gap day, at 09:00 on the clock, meets yesterday
    /// until 09:00, not 08:00: both days count their hours from midnight.
    #[test]
    fn today_so_far_on_a_day_that_starts_after_a_midnight_dst_gap_is_compared_until_the_same_clock_time() {
        let cairo = zone("Africa/Cairo");
        let now = at("2026-04-24T06:00:00Z"); // 09:00 +03:00
        let today = preset_range(Preset::Today, &cairo, now);
        let yesterday = Compare::PreviousPeriodToDate.period(today, &cairo, now).unwrap();
        assert_eq!((cairo.format(yesterday.from), cairo.format(yesterday.to)), ("2026-04-23T00:00:00+02:00".into(), "2026-04-23T09:00:00+02:00".into()));
    }

    /// A year back starts on the same date (Feb 29 on Feb 28) and spans as
    /// many local days: never the empty range the clamped end of 2024-02-28
    /// gave, nor two days for 2025-02-28. Calendar months stay months.
    #[test]
    fn previous_year_around_a_leap_day_spans_as_many_local_days() {
        let utc = zone("UTC");
        let back = |from: &str, to: &str| {
            let request = TimeRangeRequest { from: Some(from.into()), to: Some(to.into()), preset: None };
            let back = Compare::PreviousYear.period(resolve(&request, &utc, 0).unwrap(), &utc, 0).unwrap();
            (utc.format(back.from), utc.format(back.to))
        };
        assert_eq!(back("2024-02-28", "2024-02-28"), ("2023-02-28T00:00:00+00:00".into(), "2023-03-01T00:00:00+00:00".into()));
        assert_eq!(back("2024-02-29", "2024-02-29"), ("2023-02-28T00:00:00+00:00".into(), "2023-03-01T00:00:00+00:00".into()));
        assert_eq!(back("2025-02-28", "2025-02-28"), ("2024-02-28T00:00:00+00:00".into(), "2024-02-29T00:00:00+00:00".into()));
        assert_eq!(back("2024-02-23", "2024-02-29"), ("2023-02-23T00:00:00+00:00".into(), "2023-03-02T00:00:00+00:00".into()), "seven days");
        assert_eq!(back("2024-02-01", "2024-02-29"), ("2023-02-01T00:00:00+00:00".into(), "2023-03-01T00:00:00+00:00".into()), "February");
        assert_eq!(back("2024-02-28T10:00:00Z", "2024-02-29T10:00:00Z"), ("2023-02-28T10:00:00+00:00".into(), "2023-03-01T10:00:00+00:00".into()), "timestamps");
    }

    #[test]
    fn offsets_and_posix_rules_are_not_timezone_names() {
        for bad in ["", "+05:30", "EST5EDT,M3.2.0,M11.1.0", "Mars/Olympus", "Europe/Berlin'; DROP"] {
            assert!(Zone::parse("timezone", bad).is_err(), "{bad}");
        }
    }
}
