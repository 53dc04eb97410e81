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
    /// The last `reread_hours` before `now`, widened to whole periods, up to
    /// the end of the period `now` is in (the current hour is partial and
    /// is read again by the next poll).
    pub fn recent(now: OffsetDateTime, reread_hours: u32, grain: Grain) -> Self {
        let step = grain.secs();
        let floor = |at: i64| at - at.rem_euclid(step);
        let now_s = now.unix_timestamp();
        let start = floor(now_s - i64::from(reread_hours) * 3_600);
        let end = floor(now_s) + step;
        let at = |secs| OffsetDateTime::from_unix_timestamp(secs).expect("a time near now");
        Self { start: at(start), end: at(end) }
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
        let hours = Window::recent(now, 3, Grain::Hour);
        assert_eq!((hours.start, hours.end), (datetime!(2026-11-30 07:00 UTC), datetime!(2026-11-30 11:00 UTC)));
        let days = Window::recent(now, 48, Grain::Day);
        assert_eq!((days.start, days.end), (datetime!(2026-11-28 00:00 UTC), datetime!(2026-12-01 00:00 UTC)));
        assert_eq!(
            days.fill("?from={start}&d={start_date}..{end_date}&e={end_epoch}", true),
            "?from=2026-11-28T00%3A00%3A00Z&d=2026-11-28..2026-11-30&e=1796083200"
        );
    }
}
