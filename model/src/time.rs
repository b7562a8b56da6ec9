//! UTC instants and reporting periods. Every timestamp is stored and computed in UTC;
//! a period is `[from, to)` of whole UTC days and weeks start on Monday.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

/// An instant, always in UTC.
pub type Timestamp = DateTime<Utc>;

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("is not an RFC 3339 timestamp ({0})")]
    NotRfc3339(chrono::ParseError),
    #[error("is outside the years 0000 to 9999 (UTC)")]
    OutOfRange,
}

/// Accepts an instant in the years 0000 to 9999, UTC: those RFC 3339 can write
/// (SPEC §1), so every stored instant has a four-digit RFC 3339 form in UTC, and the
/// difference of any two fits an `i64` of microseconds many times over. chrono goes
/// from the year -262,143 to +262,142, where a lead time's subtraction overflows; a
/// sender's format with a free-width year (GitLab's `2019-03-25 11:16:03 UTC`)
/// reaches that far, and an offset moves an RFC 3339 year 0000 or 9999 across the
/// edge.
pub fn check_range(t: Timestamp) -> Result<Timestamp, TimestampError> {
    if (0..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(TimestampError::OutOfRange)
    }
}

/// Parses an RFC 3339 timestamp (any offset) into UTC, within [`check_range`].
pub fn parse_timestamp(raw: &str) -> Result<Timestamp, TimestampError> {
    let t = DateTime::parse_from_rfc3339(raw).map_err(TimestampError::NotRfc3339)?;
    check_range(t.with_timezone(&Utc))
}

/// Microseconds since the Unix epoch: the unit the store keeps instants in.
pub fn to_micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

/// The inverse of [`to_micros`].
pub fn from_micros(micros: i64) -> Timestamp {
    DateTime::from_timestamp_micros(micros).expect("stored instants are within chrono's range")
}

/// Why a period was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("`{field}` is `{value}`, not a date in the form YYYY-MM-DD")]
    BadDate { field: &'static str, value: String },
    #[error("`from` ({from}) must be before `to` ({to})")]
    Empty { from: NaiveDate, to: NaiveDate },
    #[error("give both `from` and `to`, or neither (for the last 90 days)")]
    HalfOpen,
}

/// A reporting period `[from, to)` of whole UTC days, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: NaiveDate,
    to: NaiveDate,
}

impl Period {
    /// Days in the default period: the last 90 days including today.
    pub const DEFAULT_DAYS: u64 = 90;

    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if from < to {
            Ok(Self { from, to })
        } else {
            Err(PeriodError::Empty { from, to })
        }
    }

    /// The last [`Self::DEFAULT_DAYS`] days including `today`: `to` is tomorrow.
    pub fn last_days_until(today: NaiveDate, days: u64) -> Self {
        let to = today + Days::new(1);
        Self {
            from: to - Days::new(days),
            to,
        }
    }

    /// Parses the `from`/`to` pair of a query string or command line; both absent
    /// means the default period ending `today`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, PeriodError> {
        match (from, to) {
            (None, None) => Ok(Self::last_days_until(today, Self::DEFAULT_DAYS)),
            (Some(from), Some(to)) => Self::new(parse_date("from", from)?, parse_date("to", to)?),
            _ => Err(PeriodError::HalfOpen),
        }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }

    /// The Mondays in `[from, to)`: the weeks the weekly report has rows for. A
    /// mid-week `from` skips its partial week; the last week runs past `to` in full.
    pub fn week_starts(&self) -> Vec<NaiveDate> {
        let offset = (7 - self.from.weekday().num_days_from_monday()) % 7;
        let first = self.from + Days::new(u64::from(offset));
        first
            .iter_days()
            .step_by(7)
            .take_while(|d| *d < self.to)
            .collect()
    }
}

fn parse_date(field: &'static str, value: &str) -> Result<NaiveDate, PeriodError> {
    let bad = || PeriodError::BadDate {
        field,
        value: value.to_owned(),
    };
    if value.len() != 10 {
        return Err(bad());
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t = parse_timestamp("2026-01-07T12:10:28+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-01-07T10:10:28+00:00");
    }

    #[test]
    fn instants_outside_the_years_rfc_3339_writes_are_refused() {
        assert!(parse_timestamp("0000-01-01T00:00:00Z").is_ok());
        assert!(parse_timestamp("9999-12-31T23:59:59.999999Z").is_ok());
        // Valid RFC 3339 whose UTC instant leaves the four-digit years.
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59-01:00"),
            Err(TimestampError::OutOfRange)
        );
        assert_eq!(
            parse_timestamp("0000-01-01T00:00:00+01:00"),
            Err(TimestampError::OutOfRange)
        );
        assert!(matches!(
            parse_timestamp("+262143-12-31T23:59:59Z"),
            Err(TimestampError::NotRfc3339(_))
        ));
        assert_eq!(
            check_range(DateTime::<Utc>::MAX_UTC),
            Err(TimestampError::OutOfRange)
        );
        assert_eq!(
            check_range(DateTime::<Utc>::MIN_UTC),
            Err(TimestampError::OutOfRange)
        );
        assert_eq!(
            TimestampError::OutOfRange.to_string(),
            "is outside the years 0000 to 9999 (UTC)"
        );
    }

    #[test]
    fn default_period_is_the_last_ninety_days_including_today() {
        let p = Period::parse(None, None, date("2026-04-05")).unwrap();
        assert_eq!((p.from(), p.to()), (date("2026-01-06"), date("2026-04-06")));
        assert_eq!(p.days(), 90);
    }

    #[test]
    fn period_must_not_be_empty_or_half_given() {
        assert!(matches!(
            Period::parse(Some("2026-01-05"), Some("2026-01-05"), date("2026-01-01")),
            Err(PeriodError::Empty { .. })
        ));
        assert_eq!(
            Period::parse(Some("2026-01-05"), None, date("2026-01-01")),
            Err(PeriodError::HalfOpen)
        );
        assert!(matches!(
            Period::parse(Some("2026-1-5"), Some("2026-02-01"), date("2026-01-01")),
            Err(PeriodError::BadDate { field: "from", .. })
        ));
    }

    #[test]
    fn weeks_are_the_mondays_in_the_period() {
        let p = Period::new(date("2026-01-07"), date("2026-01-27")).unwrap();
        assert_eq!(
            p.week_starts(),
            vec![date("2026-01-12"), date("2026-01-19"), date("2026-01-26")]
        );
        let p = Period::new(date("2026-01-05"), date("2026-01-12")).unwrap();
        assert_eq!(p.week_starts(), vec![date("2026-01-05")]);
    }
}
