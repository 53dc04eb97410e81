//! The window a poll re-reads, and the request URLs and bodies it fills.

use adhouse_core::settings::Grain;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Whole periods `[start, end)`, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl Window {
    /// The window a poll at `now` reads, and the periods before it that no
    /// poll will read. It starts `reread_hours` before the last successful
    /// poll (`last_success`; `now` for a feed's first), so that the poll
    /// after an outage reads all of it, but at most `catch_up_hours` before
    /// `now`: what lies beyond is missed. Whole periods, up to the end of
    /// the one `now` is in (partial, read again by the next poll).
    pub fn to_poll(now: OffsetDateTime, last_success: Option<OffsetDateTime>, (reread_hours, catch_up_hours): (u32, u32), grain: Grain) -> (Self, Option<Self>) {
        let step = grain.secs();
        let floor = |at: i64| at - at.rem_euclid(step);
        let now_s = now.unix_timestamp();
        let since = last_success.map_or(now_s, |at| at.unix_timestamp().min(now_s));
        let wanted = floor(since - i64::from(reread_hours) * 3_600);
        let start = wanted.max(floor(now_s - i64::from(catch_up_hours) * 3_600));
        let at = |secs| OffsetDateTime::from_unix_timestamp(secs).expect("a time near now");
        let window = Self { start: at(start), end: at(floor(now_s) + step) };
        (window, (wanted < start).then(|| Self { start: at(wanted), end: at(start) }))
    }

    /// `template` with the window's placeholders filled; `encode` escapes
    /// each value (query strings) or not (JSON bodies).
    pub fn fill(&self, template: &str, encode: bool) -> String {
        let date = |at: OffsetDateTime| at.date().to_string();
        let last_day = self.end - time::Duration::seconds(1);
        let values = [
            ("{start}", self.start.format(&Rfc3339).expect("formats")),
            ("{end}", self.end.format(&Rfc3339).expect("formats")),
            ("{start_date}", date(self.start)),
            ("{end_date}", date(last_day)),
            ("{start_epoch}", self.start.unix_timestamp().to_string()),
            ("{end_epoch}", self.end.unix_timestamp().to_string()),
        ];
        values.iter().fold(template.to_owned(), |text, (placeholder, value)| {
            let value = if encode { url::form_urlencoded::byte_serialize(value.as_bytes()).collect() } else { value.clone() };
            text.replace(placeholder, &value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_window_is_whole_periods_up_to_the_current_one() {
        let now = datetime!(2026-11-30 10:17:03 UTC);
        let (hours, missed) = Window::to_poll(now, None, (3, 168), Grain::Hour);
        assert_eq!((hours.start, hours.end, missed), (datetime!(2026-11-30 07:00 UTC), datetime!(2026-11-30 11:00 UTC), None));
        let (days, _) = Window::to_poll(now, Some(now + time::Duration::hours(1)), (48, 168), Grain::Day);
        assert_eq!((days.start, days.end), (datetime!(2026-11-28 00:00 UTC), datetime!(2026-12-01 00:00 UTC)));
        assert_eq!(
            days.fill("?from={start}&d={start_date}..{end_date}&e={end_epoch}", true),
            "?from=2026-11-28T00%3A00%3A00Z&d=2026-11-28..2026-11-30&e=1796083200"
        );
    }

    #[test]
    fn after_an_outage_a_poll_reads_from_the_last_success_up_to_the_catch_up() {
        let now = datetime!(2026-11-30 10:17:03 UTC);
        let (window, missed) = Window::to_poll(now, Some(datetime!(2026-11-29 20:40 UTC)), (3, 168), Grain::Hour);
        assert_eq!((window.start, window.end, missed), (datetime!(2026-11-29 17:00 UTC), datetime!(2026-11-30 11:00 UTC), None));
        let (window, missed) = Window::to_poll(now, Some(datetime!(2026-11-20 20:40 UTC)), (3, 48), Grain::Hour);
        assert_eq!((window.start, window.end), (datetime!(2026-11-28 10:00 UTC), datetime!(2026-11-30 11:00 UTC)));
        let missed = missed.expect("beyond the catch-up");
        assert_eq!((missed.start, missed.end), (datetime!(2026-11-20 17:00 UTC), datetime!(2026-11-28 10:00 UTC)));
    }
}
