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
