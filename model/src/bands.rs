//! DORA performance levels. The band tables are data (`bands.csv`), versioned by the
//! report year, so that a team can compare itself against the bands it knows.

use std::fmt;
use std::str::FromStr;

/// A performance level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Elite => "elite",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which report year's bands to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BandsVersion {
    V2021,
    #[default]
    V2023,
    V2024,
}

impl BandsVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2021 => "2021",
            Self::V2023 => "2023",
            Self::V2024 => "2024",
        }
    }
}

impl FromStr for BandsVersion {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "2021" => Ok(Self::V2021),
            "2023" => Ok(Self::V2023),
            "2024" => Ok(Self::V2024),
            other => Err(format!(
                "unknown band table `{other}`: use 2021, 2023 or 2024"
            )),
        }
    }
}

/// The four banded figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Banded {
    /// Higher is better: a level needs at least its threshold.
    DeploysPerDay,
    /// The others: lower is better.
    LeadTimeHours,
    ChangeFailureRate,
    /// Failed deployment recovery time and time to restore alike.
    RecoveryHours,
}

/// The value range one level covers, for drawing bands behind a chart: `low` to
/// `high`, either end open to infinity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandRange {
    pub level: Level,
    pub low: f64,
    pub high: f64,
}

/// Thresholds for elite, high and medium; anything else is low.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Thresholds([f64; 3]);

/// One version's band table.
#[derive(Debug, Clone, PartialEq)]
pub struct BandTable {
    deploys_per_day: Thresholds,
    lead_time_hours: Thresholds,
    change_failure_rate: Thresholds,
    recovery_hours: Thresholds,
}

const LEVELS: [Level; 3] = [Level::Elite, Level::High, Level::Medium];

fn level_where(thresholds: Thresholds, passes: impl Fn(f64) -> bool) -> Level {
    LEVELS
        .into_iter()
        .zip(thresholds.0)
        .find(|(_, t)| passes(*t))
        .map_or(Level::Low, |(level, _)| level)
}

impl BandTable {
    /// The table of `version`, read from the bundled `bands.csv`.
    pub fn of(version: BandsVersion) -> BandTable {
        parse_table(include_str!("bands.csv"), version.as_str())
            .expect("bands.csv is well formed (tested)")
    }

    pub fn deploys_per_day(&self, per_day: f64) -> Level {
        level_where(self.deploys_per_day, |t| per_day >= t)
    }

    pub fn lead_time(&self, median_hours: f64) -> Level {
        level_where(self.lead_time_hours, |t| median_hours < t)
    }

    pub fn change_failure_rate(&self, rate: f64) -> Level {
        level_where(self.change_failure_rate, |t| rate <= t)
    }

    /// For failed deployment recovery time and time to restore alike.
    pub fn recovery(&self, median_hours: f64) -> Level {
        level_where(self.recovery_hours, |t| median_hours < t)
    }

    /// The level of `value` for the figure `which`.
    pub fn level(&self, which: Banded, value: f64) -> Level {
        match which {
            Banded::DeploysPerDay => self.deploys_per_day(value),
            Banded::LeadTimeHours => self.lead_time(value),
            Banded::ChangeFailureRate => self.change_failure_rate(value),
            Banded::RecoveryHours => self.recovery(value),
        }
    }

    /// The value range each level covers, best level first; a level no value can
    /// reach (the 2024 table's medium change failure rate) is left out. Levels are
    /// tried elite, high, medium in turn, so each range starts where the ranges
    /// before it end.
    pub fn ranges(&self, which: Banded) -> Vec<BandRange> {
        let (thresholds, higher_is_better) = match which {
            Banded::DeploysPerDay => (self.deploys_per_day, true),
            Banded::LeadTimeHours => (self.lead_time_hours, false),
            Banded::ChangeFailureRate => (self.change_failure_rate, false),
            Banded::RecoveryHours => (self.recovery_hours, false),
        };
        let mut ranges = Vec::new();
        if higher_is_better {
            let mut high = f64::INFINITY;
            for (level, t) in LEVELS.into_iter().zip(thresholds.0) {
                if t < high {
                    ranges.push(BandRange {
                        level,
                        low: t,
                        high,
                    });
                    high = t;
                }
            }
            ranges.push(BandRange {
                level: Level::Low,
                low: 0.0,
                high,
            });
        } else {
            let mut low = 0.0;
            for (level, t) in LEVELS.into_iter().zip(thresholds.0) {
                if t > low {
                    ranges.push(BandRange {
                        level,
                        low,
                        high: t,
                    });
                    low = t;
                }
            }
            ranges.push(BandRange {
                level: Level::Low,
                low,
                high: f64::INFINITY,
            });
        }
        ranges
    }
}

fn parse_number(raw: &str) -> Result<f64, String> {
    let bad = || format!("bad threshold `{raw}`");
    match raw.split_once('/') {
        Some((n, d)) => Ok(n.trim().parse::<f64>().map_err(|_| bad())?
            / d.trim().parse::<f64>().map_err(|_| bad())?),
        None => raw.trim().parse().map_err(|_| bad()),
    }
}

fn parse_table(csv: &str, version: &str) -> Result<BandTable, String> {
    let mut rows = std::collections::BTreeMap::new();
    for line in csv
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let cells: Vec<&str> = line.split(',').collect();
        let [v, metric, elite, high, medium] = cells[..] else {
            return Err(format!("bad line `{line}`"));
        };
        if v == version {
            let t = Thresholds([
                parse_number(elite)?,
                parse_number(high)?,
                parse_number(medium)?,
            ]);
            rows.insert(metric.to_owned(), t);
        }
    }
    let mut take = |metric: &str| {
        rows.remove(metric)
            .ok_or(format!("band table {version} lacks {metric}"))
    };
    Ok(BandTable {
        deploys_per_day: take("deploys_per_day")?,
        lead_time_hours: take("lead_time_hours")?,
        change_failure_rate: take("change_failure_rate")?,
        recovery_hours: take("recovery_hours")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_each_reachable_level_and_agree_with_the_levels() {
        let t = BandTable::of(BandsVersion::V2023);
        let ranges = t.ranges(Banded::LeadTimeHours);
        let spans: Vec<(Level, f64, f64)> =
            ranges.iter().map(|r| (r.level, r.low, r.high)).collect();
        assert_eq!(
            spans,
            vec![
                (Level::Elite, 0.0, 24.0),
                (Level::High, 24.0, 168.0),
                (Level::Medium, 168.0, 720.0),
                (Level::Low, 720.0, f64::INFINITY),
            ]
        );
        let df = t.ranges(Banded::DeploysPerDay);
        assert_eq!(
            (df[0].level, df[0].low, df[0].high),
            (Level::Elite, 1.0, f64::INFINITY)
        );
        assert_eq!(
            (df[3].level, df[3].low, df[3].high),
            (Level::Low, 0.0, 1.0 / 30.0)
        );
        // 2024's medium change failure rate (10 %) lies inside high (20 %): unreachable.
        let cfr = BandTable::of(BandsVersion::V2024).ranges(Banded::ChangeFailureRate);
        let levels: Vec<Level> = cfr.iter().map(|r| r.level).collect();
        assert_eq!(levels, vec![Level::Elite, Level::High, Level::Low]);
        let v24 = BandTable::of(BandsVersion::V2024);
        for value in [0.03, 0.12, 0.5] {
            let level = v24.level(Banded::ChangeFailureRate, value);
            assert!(
                cfr.iter()
                    .any(|r| r.level == level && value > r.low - 1e-12 && value <= r.high),
                "{value} is {level} but no range of that level holds it"
            );
        }
    }

    #[test]
    fn every_version_parses() {
        for v in [
            BandsVersion::V2021,
            BandsVersion::V2023,
            BandsVersion::V2024,
        ] {
            parse_table(include_str!("bands.csv"), v.as_str()).unwrap();
        }
    }

    #[test]
    fn bands_2023_match_the_spec_boundaries() {
        let b = BandTable::of(BandsVersion::V2023);
        assert_eq!(b.deploys_per_day(1.0), Level::Elite);
        assert_eq!(b.deploys_per_day(1.0 / 7.0), Level::High);
        assert_eq!(b.deploys_per_day(1.0 / 7.0 - 1e-12), Level::Medium);
        assert_eq!(b.deploys_per_day(0.0), Level::Low);
        assert_eq!(b.lead_time(24.0), Level::High, "lead time uses <");
        assert_eq!(b.lead_time(23.99), Level::Elite);
        assert_eq!(
            b.change_failure_rate(0.05),
            Level::Elite,
            "failure rate uses <="
        );
        assert_eq!(b.change_failure_rate(0.2133), Level::Low);
        assert_eq!(b.recovery(1.0), Level::High);
        assert_eq!(b.recovery(720.0), Level::Low);
    }
}
