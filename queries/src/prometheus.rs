//! The DORA figures `/metrics` exposes to Prometheus: SPEC §4's figures over a
//! trailing window of days, for every service that counts and for every team as a
//! whole, and when each last deployed.
//!
//! A team's medians are computed over the rows of its services, never combined from
//! theirs (a median of medians is not the median). The team figures come from
//! `figures.sql` itself, run once over rows whose `service` is replaced by the team of
//! their service ([`TEAM_FIGURES`]), so each team is a "service" of that one read and
//! every aggregate is the one the metrics JSON uses. Turned down: one `figures` read
//! per team (at 500 services and 50 teams, 50 reads of the window where this makes
//! one), and a team breakdown inside `figures.sql`, which would add a grouping column
//! to every other read of it (dashboard pages, the weekly report) for this one.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::NaiveDate;
use duckdb::{Connection, params};
use shiplog_model::{Period, Settings};

use crate::QueryError;
use crate::figures::{Breakdown, Bucket, Figures, figures, midnight, set_aborted_production};
use crate::scope::{Filter, Known};
use crate::temp::set_names;

/// The figures of one service over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFigures {
    pub service: String,
    pub team: Option<String>,
    pub figures: Figures,
    /// The end of its newest deployment before the window's end (any time, not only
    /// in the window), as seconds since the Unix epoch; `None` if it never deployed.
    pub last_deployment: Option<f64>,
}

/// The figures of one team over the window: over the rows of all of its services.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamFigures {
    pub team: String,
    pub figures: Figures,
    /// The newest of its services' last deployments.
    pub last_deployment: Option<f64>,
}

/// Every service's and every team's figures over one window.
#[derive(Debug, Clone, PartialEq)]
pub struct DoraFigures {
    pub window: Period,
    /// In code-point order of the service name.
    pub services: Vec<ServiceFigures>,
    /// In code-point order of the team name; only teams with a service that counts.
    pub teams: Vec<TeamFigures>,
}

/// The `days` UTC days ending with `today`, today included: `[today - days + 1,
/// today + 1)`. `days` is at least 1.
pub fn trailing_window(today: NaiveDate, days: u32) -> Period {
    Period::last_days_until(today, u64::from(days.max(1)))
}

/// The figures of every service that counts and of every team over `window`.
pub fn dora_figures(
    conn: &Connection,
    settings: &Settings,
    window: Period,
) -> Result<DoraFigures, QueryError> {
    let known = Known::read(conn, settings)?;
    let bucket = Bucket::whole(window);
    let per_service = figures(
        conn,
        &known.select(&Filter::default()),
        &[bucket],
        Breakdown::PerService,
    )?;
    let last = last_deployments(conn, window)?;
    let services: Vec<ServiceFigures> = per_service
        .into_iter()
        .filter_map(|f| {
            let service = f.service.clone()?;
            Some(ServiceFigures {
                team: known.team_of(&service).map(str::to_owned),
                last_deployment: last.get(&service).copied(),
                service,
                figures: f,
            })
        })
        .collect();
    let mut last_of_team: BTreeMap<&str, f64> = BTreeMap::new();
    for s in &services {
        if let (Some(team), Some(at)) = (&s.team, s.last_deployment) {
            let newest = last_of_team.entry(team).or_insert(at);
            *newest = newest.max(at);
        }
    }
    let teams = team_figures(conn, &known, bucket)?
        .into_iter()
        .map(|(team, figures)| TeamFigures {
            last_deployment: last_of_team.get(team.as_str()).copied(),
            team,
            figures,
        })
        .collect();
    Ok(DoraFigures {
        window,
        services,
        teams,
    })
}

/// Each service's newest deployment finished before the window's end, in seconds.
fn last_deployments(
    conn: &Connection,
    window: Period,
) -> Result<BTreeMap<String, f64>, QueryError> {
    let mut stmt = conn.prepare_cached(include_str!("sql/last_deployments.sql"))?;
    let rows = stmt.query_map(params![midnight(window.to())], |row| {
        let micros: i64 = row.get(1)?;
        Ok((row.get::<_, String>(0)?, micros as f64 / 1e6))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `figures.sql` read per team: its four row sources (deployment outcomes,
/// lead-time samples, incidents, aborted attempts) joined to the connection's temp table
/// `service_teams` with `service` replaced by the service's team, so that its
/// per-service rows are per team (a service without a team drops out; only its
/// own series has its figures). The scope is every service's rows, so `/*scope*/`
/// stays a comment, and `scope` lists the teams.
static TEAM_FIGURES: LazyLock<String> = LazyLock::new(|| {
    let mut sql = include_str!("sql/figures.sql").to_owned();
    for (table, alias) in [
        ("deployment_outcomes", "o"),
        ("lead_time_samples", "l"),
        ("incidents", "i"),
        ("deployments", "d"),
    ] {
        let from = format!("FROM {table} {alias} JOIN days b");
        assert_eq!(
            sql.matches(&from).count(),
            1,
            "figures.sql reads `{from}` once"
        );
        let by_team = format!(
            "FROM (SELECT t.team AS service, x.* EXCLUDE (service) \
             FROM {table} x JOIN service_teams t USING (service)) {alias} JOIN days b"
        );
        sql = sql.replace(&from, &by_team);
    }
    sql
});

/// The figures of every team over `bucket`, in code-point order of the team.
fn team_figures(
    conn: &Connection,
    known: &Known,
    bucket: Bucket,
) -> Result<Vec<(String, Figures)>, QueryError> {
    let teamed: Vec<(&str, &str)> = known
        .services
        .iter()
        .filter_map(|s| Some((s.service.as_str(), s.team.as_deref()?)))
        .collect();
    if teamed.is_empty() {
        return Ok(Vec::new());
    }
    let mut teams: Vec<&str> = teamed.iter().map(|(_, team)| *team).collect();
    teams.sort_unstable();
    teams.dedup();
    set_names(conn, "scope", teams.iter().copied())?;
    set_aborted_production(conn, &known.aborted_production)?;
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS service_teams (service VARCHAR, team VARCHAR);
         DELETE FROM service_teams;",
    )?;
    {
        let mut appender = conn.appender_to_catalog_and_db("service_teams", "temp", "main")?;
        for (service, team) in &teamed {
            appender.append_row(params![service, team])?;
        }
        appender.flush()?;
    }
    // The one bucket, broken down; `figures.rs` owns this table's shape.
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS figure_buckets
             (i INTEGER, start TIMESTAMP, stop TIMESTAMP, per_service BOOLEAN);
         DELETE FROM figure_buckets;",
    )?;
    conn.execute(
        "INSERT INTO figure_buckets VALUES (0, ?, ?, true)",
        params![midnight(bucket.start), midnight(bucket.stop)],
    )?;
    let mut stmt = conn.prepare_cached(&TEAM_FIGURES)?;
    let rows = stmt.query_map(
        params![midnight(bucket.start), midnight(bucket.stop)],
        |row| {
            // The total row, over every service with a team, is not a team's.
            let Some(team) = row.get::<_, Option<String>>(1)? else {
                return Ok(None);
            };
            let figures = Figures::from_row(row, bucket.start, None)?;
            Ok(Some((team, figures)))
        },
    )?;
    let rows: Vec<Option<(String, Figures)>> = rows.collect::<Result<_, _>>()?;
    let mut rows: Vec<(String, Figures)> = rows.into_iter().flatten().collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::tests::store;

    fn at(text: &str) -> f64 {
        text.parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            .timestamp() as f64
    }

    fn close(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("a value");
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    /// Team `shop` runs `cart` (samples of 2 h and 6 h) and `pay` (10 h, one failed
    /// deployment recovered in 3 h, an incident restored in 2 h), team `find` runs
    /// `search`; `legacy` has only an incident and no team.
    fn history() -> Connection {
        let lines = [
            r#"{"type":"deployment","id":"p0","service":"pay","team":"shop","repo":"acme/pay","sha":"b0","finished_at":"2026-02-20T00:00:00Z"}"#,
            r#"{"type":"deployment","id":"c1","service":"cart","team":"shop","repo":"acme/cart","sha":"a1","finished_at":"2026-03-02T10:00:00Z","commits":[{"sha":"a1","committed_at":"2026-03-02T08:00:00Z"}]}"#,
            r#"{"type":"deployment","id":"p1","service":"pay","team":"shop","repo":"acme/pay","sha":"b1","finished_at":"2026-03-03T12:00:00Z","commits":[{"sha":"b1","committed_at":"2026-03-03T02:00:00Z"}]}"#,
            r#"{"type":"deployment","id":"c2","service":"cart","team":"shop","repo":"acme/cart","sha":"a2","finished_at":"2026-03-04T10:00:00Z","commits":[{"sha":"a2","committed_at":"2026-03-04T04:00:00Z"}]}"#,
            r#"{"type":"deployment","id":"s1","service":"search","team":"find","repo":"acme/search","sha":"e1","finished_at":"2026-03-05T12:00:00Z","commits":[{"sha":"e1","committed_at":"2026-03-05T11:00:00Z"}]}"#,
            r#"{"type":"deployment","id":"s2","service":"search","team":"find","repo":"acme/search","sha":"e2","finished_at":"2026-03-09T12:00:00Z"}"#,
            r#"{"type":"incident","id":"i1","service":"pay","opened_at":"2026-03-03T13:00:00Z","resolved_at":"2026-03-03T15:00:00Z"}"#,
            r#"{"type":"incident","id":"i2","service":"legacy","opened_at":"2026-03-06T09:00:00Z","resolved_at":"2026-03-06T10:00:00Z"}"#,
        ];
        store(&[&lines])
    }

    fn window() -> Period {
        trailing_window("2026-03-07".parse().unwrap(), 7)
    }

    #[test]
    fn the_window_is_the_days_ending_with_today() {
        let w = window();
        assert_eq!(w.from(), "2026-03-01".parse::<NaiveDate>().unwrap());
        assert_eq!(w.to(), "2026-03-08".parse::<NaiveDate>().unwrap());
        assert_eq!(w.days(), 7);
        let one = trailing_window("2026-03-07".parse().unwrap(), 1);
        assert_eq!(
            (one.from().to_string(), one.days()),
            ("2026-03-07".into(), 1)
        );
    }

    #[test]
    fn a_teams_medians_are_over_its_services_rows_not_combined_from_theirs() {
        let conn = history();
        let dora = dora_figures(&conn, &Settings::default(), window()).unwrap();
        let teams: Vec<&str> = dora.teams.iter().map(|t| t.team.as_str()).collect();
        assert_eq!(teams, ["find", "shop"]);
        let shop = &dora.teams[1].figures;
        assert_eq!((shop.deployments, shop.deploy_days), (3, 3));
        assert_eq!(shop.lead_time_samples, 3);
        // Median of 2, 6 and 10 h; the services' medians are 4 and 10.
        close(shop.lead_time_median_hours, 6.0);
        close(shop.lead_time_p90_hours, 9.2);
        assert_eq!((shop.failed, shop.recovered, shop.rework), (1, 1, 0));
        close(shop.recovery_median_hours, 3.0);
        assert_eq!((shop.incidents, shop.resolved), (1, 1));
        close(shop.restore_median_hours, 2.0);
        assert_eq!(
            dora.teams[1].last_deployment,
            Some(at("2026-03-04T10:00:00Z"))
        );
        let find = &dora.teams[0];
        assert_eq!(find.figures.deployments, 1);
        assert_eq!(find.last_deployment, Some(at("2026-03-05T12:00:00Z")));
    }

    #[test]
    fn each_team_has_what_a_team_filter_of_the_metrics_gives() {
        let conn = history();
        let settings = Settings::default();
        let dora = dora_figures(&conn, &settings, window()).unwrap();
        let known = Known::read(&conn, &settings).unwrap();
        for team in &dora.teams {
            let filter = Filter {
                service: None,
                team: Some(team.team.clone()),
            };
            let rows = figures(
                &conn,
                &known.select(&filter),
                &[Bucket::whole(window())],
                Breakdown::TotalOnly,
            )
            .unwrap();
            assert_eq!(rows, std::slice::from_ref(&team.figures), "{}", team.team);
        }
    }

    #[test]
    fn every_service_that_counts_has_its_figures_and_team() {
        let conn = history();
        let dora = dora_figures(&conn, &Settings::default(), window()).unwrap();
        let names: Vec<(&str, Option<&str>)> = dora
            .services
            .iter()
            .map(|s| (s.service.as_str(), s.team.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("cart", Some("shop")),
                ("legacy", None),
                ("pay", Some("shop")),
                ("search", Some("find"))
            ]
        );
        let [cart, legacy, pay, search] = &dora.services[..] else {
            unreachable!()
        };
        close(cart.figures.lead_time_median_hours, 4.0);
        assert_eq!(cart.figures.failed, 0);
        assert_eq!(legacy.figures.deployments, 0);
        assert_eq!(legacy.figures.lead_time_median_hours, None);
        close(legacy.figures.restore_median_hours, 1.0);
        assert_eq!(legacy.last_deployment, None);
        // The deployment before the window counts only as the last one before it.
        assert_eq!(pay.figures.deployments, 1);
        assert_eq!(pay.last_deployment, Some(at("2026-03-03T12:00:00Z")));
        // The one after the window's end is in neither.
        assert_eq!(search.figures.deployments, 1);
        assert_eq!(search.last_deployment, Some(at("2026-03-05T12:00:00Z")));
    }
}
