//! Which days of a job are due, cut into windows a platform accepts.

use std::collections::BTreeSet;

use adhouse_connectors::DateRange;
use time::Date;

/// Runs of consecutive due days of `range`, each at most `window_days` long.
/// A day is due from `refetch_from` on, or when it is not in `done`.
pub fn due(range: DateRange, refetch_from: Date, done: &BTreeSet<Date>, window_days: i64) -> Vec<DateRange> {
    let mut windows = Vec::new();
    let mut open: Option<DateRange> = None;
    let mut day = range.since;
    while day <= range.until {
        let is_due = day >= refetch_from || !done.contains(&day);
        open = match (open, is_due) {
            (Some(mut window), true) if window.days() < window_days.max(1) => {
                window.until = day;
                Some(window)
            }
            (Some(window), true) => {
                windows.push(window);
                Some(DateRange { since: day, until: day })
            }
            (None, true) => Some(DateRange { since: day, until: day }),
            (Some(window), false) => {
                windows.push(window);
                None
            }
            (None, false) => None,
        };
        let Some(next) = day.next_day() else { break };
        day = next;
    }
    windows.extend(open);
    windows
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn due_days_are_the_undone_ones_and_every_day_from_refetch_on_in_windows_of_at_most_n() {
        let range = DateRange { since: date!(2026 - 01 - 01), until: date!(2026 - 01 - 10) };
        let done: BTreeSet<Date> = [date!(2026 - 01 - 03), date!(2026 - 01 - 04), date!(2026 - 01 - 09)].into();
        let windows = due(range, date!(2026 - 01 - 09), &done, 3);
        let expected = [
            (date!(2026 - 01 - 01), date!(2026 - 01 - 02)),
            (date!(2026 - 01 - 05), date!(2026 - 01 - 07)),
            (date!(2026 - 01 - 08), date!(2026 - 01 - 10)),
        ];
        assert_eq!(windows.iter().map(|w| (w.since, w.until)).collect::<Vec<_>>(), expected);
        let all_done: BTreeSet<Date> = (0..10).map(|i| range.since + time::Duration::days(i)).collect();
        assert!(due(range, date!(2026 - 02 - 01), &all_done, 30).is_empty(), "nothing due");
        assert_eq!(due(range, range.since, &all_done, 30), [range], "everything refetched");
    }
}
