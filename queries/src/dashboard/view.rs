//! What a dashboard page is asked for, and the buckets of days it draws.

use chrono::{Datelike, Days, Months, NaiveDate};
use shiplog_model::{BandsVersion, Period};

use crate::figures::Bucket;
use crate::scope::Filter;

/// The size of a chart's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketSize {
    Day,
    Week,
    Month,
}

impl BucketSize {
    pub const ALL: [BucketSize; 3] = [BucketSize::Day, BucketSize::Week, BucketSize::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            BucketSize::Day => "day",
            BucketSize::Week => "week",
            BucketSize::Month => "month",
        }
    }

    pub fn parse(raw: &str) -> Option<BucketSize> {
        Self::ALL.into_iter().find(|b| b.as_str() == raw)
    }

    /// The size that gives a readable chart for `period`: days up to a month, weeks
    /// up to half a year, months beyond.
    pub fn default_for(period: Period) -> BucketSize {
        match period.days() {
            ..=31 => BucketSize::Day,
            32..=186 => BucketSize::Week,
            _ => BucketSize::Month,
        }
    }
}

/// What a page shows: the period, the service or team filter, the band table that
/// judges levels, and the bucket size of its charts.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub period: Period,
    pub filter: Filter,
    pub bands: BandsVersion,
    pub bucket: BucketSize,
}

impl View {
    /// The period of the same length just before this one.
    pub fn previous_period(&self) -> Period {
        let days = Days::new(self.period.days().unsigned_abs());
        let to = self.period.from();
        Period::new(to - days, to).expect("a period has at least one day")
    }
}

/// The buckets of `size` that cover `period`, aligned to the calendar (days, weeks
/// from Monday, months from the 1st) and clipped to the period at both ends, so the
/// first and last may be partial; a figure per day stays comparable across them.
pub fn buckets(period: Period, size: BucketSize) -> Vec<Bucket> {
    let mut buckets = Vec::new();
    let mut start = period.from();
    while start < period.to() {
        let next = match size {
            BucketSize::Day => start + Days::new(1),
            BucketSize::Week => {
                let monday = start - Days::new(u64::from(start.weekday().num_days_from_monday()));
                monday + Days::new(7)
            }
            BucketSize::Month => first_of_month(start) + Months::new(1),
        };
        let stop = next.min(period.to());
        buckets.push(Bucket { start, stop });
        start = stop;
    }
    buckets
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a 1st")
}

/// Weekly buckets for sparklines, whatever the page's bucket size.
pub fn weeks(period: Period) -> Vec<Bucket> {
    buckets(period, BucketSize::Week)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn period(from: &str, to: &str) -> Period {
        Period::new(date(from), date(to)).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_are_clipped_to_the_period() {
        // 2026-01-07 is a Wednesday.
        let b = buckets(period("2026-01-07", "2026-01-21"), BucketSize::Week);
        let spans: Vec<(String, String)> = b
            .iter()
            .map(|b| (b.start.to_string(), b.stop.to_string()))
            .collect();
        assert_eq!(
            spans,
            vec![
                ("2026-01-07".into(), "2026-01-12".into()),
                ("2026-01-12".into(), "2026-01-19".into()),
                ("2026-01-19".into(), "2026-01-21".into()),
            ]
        );
    }

    #[test]
    fn months_and_days_tile_the_period_without_gaps() {
        for size in BucketSize::ALL {
            let p = period("2025-11-20", "2026-02-03");
            let b = buckets(p, size);
            assert_eq!(b.first().unwrap().start, p.from());
            assert_eq!(b.last().unwrap().stop, p.to());
            assert!(b.windows(2).all(|w| w[0].stop == w[1].start), "{size:?}");
            let total: i64 = b.iter().map(Bucket::days).sum();
            assert_eq!(total, p.days(), "{size:?}");
        }
        let months = buckets(period("2025-11-20", "2026-02-03"), BucketSize::Month);
        assert_eq!(months.len(), 4);
        assert_eq!(months[1].start, date("2025-12-01"));
    }

    #[test]
    fn the_default_bucket_follows_the_period_length() {
        assert_eq!(
            BucketSize::default_for(period("2026-01-01", "2026-01-31")),
            BucketSize::Day
        );
        assert_eq!(
            BucketSize::default_for(period("2026-01-01", "2026-04-01")),
            BucketSize::Week
        );
        assert_eq!(
            BucketSize::default_for(period("2025-01-01", "2026-01-01")),
            BucketSize::Month
        );
    }

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_where_this_starts() {
        let view = View {
            period: period("2026-01-05", "2026-02-16"),
            filter: Filter::default(),
            bands: BandsVersion::V2023,
            bucket: BucketSize::Week,
        };
        let prev = view.previous_period();
        assert_eq!(prev.to(), date("2026-01-05"));
        assert_eq!(prev.days(), 42);
    }
}
