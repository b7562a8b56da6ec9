//! UTC calendar arithmetic on Unix seconds: the window, working hours and RFC 3339 text.
//!
//! Times are plain `i64` seconds rather than chrono types: the generator does thousands
//! of additions and working-hour snaps, and integer seconds keep that arithmetic exact
//! and infallible. chrono is used only at the edges (the caller's date, formatting).

use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub(crate) const MINUTE: i64 = 60;
pub(crate) const HOUR: i64 = 3_600;
pub(crate) const DAY: i64 = 86_400;

/// Working hours, UTC: the teams are in Europe, so 08:00–19:00 UTC covers their day.
const WORK_START: i64 = 8 * HOUR;
const WORK_END: i64 = 19 * HOUR;

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// The generated period: whole UTC days, both ends included (`end` is 23:59:59 of the
/// last day).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) start: i64,
    pub(crate) end: i64,
}

impl Window {
    /// `days` whole days (at least one) ending with `last_day`.
    pub(crate) fn ending(last_day: NaiveDate, days: u32) -> Self {
        let last = day_start(last_day);
        let days = i64::from(days.max(1));
        Self {
            start: last - (days - 1) * DAY,
            end: last + DAY - 1,
        }
    }

    pub(crate) fn contains(&self, t: i64) -> bool {
        (self.start..=self.end).contains(&t)
    }
}

/// Midnight UTC at the start of `date`, in Unix seconds.
pub(crate) fn day_start(date: NaiveDate) -> i64 {
    (i64::from(date.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE) * DAY
}

/// Day of the week of `t`, 0 for Monday. 1970-01-01 was a Thursday (3).
pub(crate) fn weekday(t: i64) -> i64 {
    (t.div_euclid(DAY) + 3).rem_euclid(7)
}

pub(crate) fn is_workday(t: i64) -> bool {
    weekday(t) < 5
}

/// The moment `work` seconds of working time after `t`. With `work` 0 it snaps `t`
/// forward to the next working moment (or leaves it if it is one).
pub(crate) fn add_working(t: i64, work: i64) -> i64 {
    let mut t = t;
    let mut left = work.max(0);
    loop {
        let day = t.div_euclid(DAY) * DAY;
        let (open, close) = (day + WORK_START, day + WORK_END);
        if is_workday(day) && t < close {
            let from = t.max(open);
            if left <= close - from {
                return from + left;
            }
            left -= close - from;
        }
        t = day + DAY + WORK_START;
    }
}

/// The moment `work` seconds of working time before `t` (the mirror of [`add_working`]).
pub(crate) fn sub_working(t: i64, work: i64) -> i64 {
    let mut t = t;
    let mut left = work.max(0);
    loop {
        let day = t.div_euclid(DAY) * DAY;
        let (open, close) = (day + WORK_START, day + WORK_END);
        if is_workday(day) && t > open {
            let until = t.min(close);
            if left <= until - open {
                return until - left;
            }
            left -= until - open;
        }
        t = day - DAY + WORK_END;
    }
}

/// Working seconds between `from` and `to` (0 when `to` is not after `from`).
pub(crate) fn working_between(from: i64, to: i64) -> i64 {
    let mut total = 0;
    let mut day = from.div_euclid(DAY) * DAY;
    while day < to {
        if is_workday(day) {
            let open = (day + WORK_START).max(from);
            let close = (day + WORK_END).min(to);
            total += (close - open).max(0);
        }
        day += DAY;
    }
    total
}

/// RFC 3339 in UTC with a `Z`, whole seconds: `2026-01-07T09:24:34Z`.
pub(crate) fn rfc3339(t: i64) -> String {
    // Out-of-range seconds cannot come from a `NaiveDate` window; the epoch fallback
    // only keeps this function total.
    DateTime::<Utc>::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Appends [`rfc3339`]'s text for `t` to `line`, without chrono's formatting machinery
/// or an allocation: the scale generator writes tens of millions of these. Days to a
/// civil date by Hinnant's algorithm (`civil_from_days`); years outside 0–9999, which
/// no window reaches, fall back to [`rfc3339`].
pub(crate) fn push_rfc3339(line: &mut String, t: i64) {
    let days = t.div_euclid(DAY);
    let second_of_day = t.rem_euclid(DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    if !(0..=9_999).contains(&year) {
        line.push_str(&rfc3339(t));
        return;
    }
    let fields = [
        (year, 4),
        (month, 2),
        (day, 2),
        (second_of_day / HOUR, 2),
        (second_of_day % HOUR / MINUTE, 2),
        (second_of_day % MINUTE, 2),
    ];
    let mut text = *b"0000-00-00T00:00:00Z";
    let mut at = 0;
    for (value, width) in fields {
        let mut v = value;
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (v % 10) as u8;
            v /= 10;
        }
        at += width + 1;
    }
    line.extend(text.iter().map(|&b| char::from(b)));
}

#[cfg(test)]
mod tests {
    use super::{
        DAY, HOUR, Window, add_working, day_start, is_workday, push_rfc3339, rfc3339, sub_working,
        weekday, working_between,
    };
    use crate::rng::Rng;
    use chrono::NaiveDate;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn new_year_2026_is_a_thursday() {
        let t = day_start(date(2026, 1, 1));
        assert_eq!(rfc3339(t), "2026-01-01T00:00:00Z");
        assert_eq!(weekday(t), 3);
    }

    #[test]
    fn window_covers_whole_days() {
        let w = Window::ending(date(2026, 1, 1), 2);
        assert_eq!(rfc3339(w.start), "2025-12-31T00:00:00Z");
        assert_eq!(rfc3339(w.end), "2026-01-01T23:59:59Z");
    }

    #[test]
    fn working_time_skips_nights_and_weekends() {
        // Friday 2026-01-02 18:00 plus two working hours is Monday 09:00.
        let friday = day_start(date(2026, 1, 2)) + 18 * HOUR;
        let monday = day_start(date(2026, 1, 5)) + 9 * HOUR;
        assert_eq!(add_working(friday, 2 * HOUR), monday);
        assert_eq!(sub_working(monday, 2 * HOUR), friday);
        let saturday = day_start(date(2026, 1, 3)) + 12 * HOUR;
        assert_eq!(
            add_working(saturday, 0),
            day_start(date(2026, 1, 5)) + 8 * HOUR
        );
        assert!(!is_workday(saturday) && is_workday(saturday + 2 * DAY));
        assert_eq!(working_between(friday, monday), 2 * HOUR);
        assert_eq!(working_between(monday, friday), 0);
    }

    #[test]
    fn push_rfc3339_writes_what_chrono_formats() {
        let mut rng = Rng::new(11);
        let leap_day = day_start(date(2024, 2, 29));
        let edges = [
            0,
            -1,
            leap_day - 1,
            leap_day,
            253_402_300_799,
            253_402_300_800,
        ];
        let random = (0..100_000).map(|_| rng.range(-62_167_219_200, 253_402_300_799));
        for t in edges.into_iter().chain(random) {
            let mut line = String::new();
            push_rfc3339(&mut line, t);
            assert_eq!(line, rfc3339(t), "{t}");
        }
    }
}
