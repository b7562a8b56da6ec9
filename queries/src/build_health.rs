//! Build health (SPEC §4.1): build counts and durations, red spells on the main
//! branches and the share of the period they were red, over the repositories in scope.
//!
//! Builds are read straight from the `builds` table at query time rather than through a
//! derived table: nothing else depends on them, and the main branches are a setting, so
//! a derived table would have to be recomputed whenever that setting changes.

use std::collections::{BTreeMap, BTreeSet};

use duckdb::{Connection, params};
use shiplog_model::{Period, Settings};

use crate::QueryError;
use crate::figures::midnight;
use crate::scope::Filter;
use crate::temp::set_names;

/// Which builds count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildScope<'a> {
    /// Every stored build, whatever its repository: there is no filter.
    Everything,
    /// The builds of the repositories of these services.
    Services(&'a [String]),
}

impl<'a> BuildScope<'a> {
    /// The scope of `filter`, given the services it selects: with no filter every
    /// build counts, including those of repositories no service names yet.
    pub fn of(filter: &Filter, selected: &'a [String]) -> Self {
        if filter.service.is_none() && filter.team.is_none() {
            Self::Everything
        } else {
            Self::Services(selected)
        }
    }
}

/// The build-health figures of one period, unrounded.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildFigures {
    pub builds: i64,
    pub failed: i64,
    pub duration_median_minutes: Option<f64>,
    pub duration_p90_minutes: Option<f64>,
    pub red_spells: i64,
    pub time_to_green_median_hours: Option<f64>,
    /// Red time of every (repo, main branch) pair within the period, summed.
    pub red_hours: f64,
    /// The (repo, main branch) pairs with a build finished before the period's end.
    pub pairs: i64,
    pub period_hours: f64,
}

impl BuildFigures {
    /// Successes ÷ builds; undefined without builds.
    pub fn success_rate(&self) -> Option<f64> {
        (self.builds > 0).then(|| (self.builds - self.failed) as f64 / self.builds as f64)
    }

    /// Red time ÷ (period length × pairs); undefined without a main branch to be red.
    pub fn red_hours_share(&self) -> Option<f64> {
        (self.pairs > 0).then(|| self.red_hours / (self.period_hours * self.pairs as f64))
    }
}

/// The repositories of `services`: each one's repo in the config map, and the
/// repository of each of their deployments as SPEC §8 reads it.
pub fn repos_of(
    conn: &Connection,
    settings: &Settings,
    services: &[String],
) -> Result<BTreeSet<String>, QueryError> {
    Ok(repos_by_service(conn, settings, services)?
        .into_values()
        .flatten()
        .collect())
}

/// [`repos_of`] for each service apart, in one query.
pub fn repos_by_service(
    conn: &Connection,
    settings: &Settings,
    services: &[String],
) -> Result<BTreeMap<String, BTreeSet<String>>, QueryError> {
    set_names(conn, "scope", services.iter().map(String::as_str))?;
    let mut repos: BTreeMap<String, BTreeSet<String>> = services
        .iter()
        .filter_map(|s| Some((s.clone(), BTreeSet::from([settings.repo_of(s)?.to_owned()]))))
        .collect();
    let mut stmt = conn.prepare_cached(include_str!("sql/build_health_repos.sql"))?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, Option<String>>(1)?,
            row.get::<_, Option<String>>(2)?,
        ))
    })?;
    for row in rows {
        let (service, repo, sha_repo) = row?;
        let resolved = repo
            .or_else(|| settings.repo_of(&service).map(str::to_owned))
            .or(sha_repo);
        if let Some(resolved) = resolved {
            repos.entry(service).or_default().insert(resolved);
        }
    }
    Ok(repos)
}

/// Builds and failed builds per repository finishing in `period`.
pub fn builds_per_repo(
    conn: &Connection,
    period: Period,
) -> Result<BTreeMap<String, (i64, i64)>, QueryError> {
    let mut stmt = conn.prepare_cached(include_str!("sql/builds_per_repo.sql"))?;
    let rows = stmt.query_map(
        params![midnight(period.from()), midnight(period.to())],
        |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The build-health figures of `period` over the builds `scope` selects.
pub fn build_figures(
    conn: &Connection,
    settings: &Settings,
    period: Period,
    scope: BuildScope<'_>,
) -> Result<BuildFigures, QueryError> {
    let every_repo = match scope {
        BuildScope::Everything => {
            set_names(conn, "build_repos", std::iter::empty())?;
            true
        }
        BuildScope::Services(services) => {
            let repos = repos_of(conn, settings, services)?;
            set_names(conn, "build_repos", repos.iter().map(String::as_str))?;
            false
        }
    };
    set_names(
        conn,
        "main_branches",
        settings.main_branches.iter().map(String::as_str),
    )?;
    let (from, to) = (midnight(period.from()), midnight(period.to()));

    let (builds, failed, duration_median_minutes, duration_p90_minutes) = conn
        .prepare_cached(include_str!("sql/build_health_builds.sql"))?
        .query_row(params![from, to, every_repo], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
    let (red_spells, time_to_green_median_hours, red_hours, pairs) = conn
        .prepare_cached(include_str!("sql/build_health_spells.sql"))?
        .query_row(params![from, to, every_repo], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
    Ok(BuildFigures {
        builds,
        failed,
        duration_median_minutes,
        duration_p90_minutes,
        red_spells,
        time_to_green_median_hours,
        red_hours,
        pairs,
        period_hours: (period.days() * 24) as f64,
    })
}

#[cfg(test)]
mod tests;
