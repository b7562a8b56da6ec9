//! The weekly digest's data: per team, a period's six figures with their change
//! against the previous period of the same length, the goals the team set itself met
//! or missed, the failed deployments and what failed them, the longest lead times,
//! the incidents still open at the period's end, and the annotations of the period.
//!
//! Services without a team form one group (`team: None`), rather than one group per
//! service: a digest is read by teams, and an organisation with many unowned services
//! would otherwise get a section for each. The lists reuse the explain pages' row
//! definitions (`sql/explain/*.sql`), so a digest's failed deployment is the row the
//! explain page shows. Every list is capped (`MAX_*`, with how many there are in all),
//! so a digest stays bounded at any number of services; time is passed in.

use std::collections::BTreeMap;

use chrono::Days;
use duckdb::types::Value;
use duckdb::{Connection, params_from_iter};
use shiplog_model::goals::{GoalBook, GoalCheck};
use shiplog_model::time::from_micros;
use shiplog_model::{Annotation, BandTable, Period, Settings, Timestamp};

use crate::QueryError;
use crate::dashboard::overview::{Tile, tile};
use crate::dashboard::{BucketSize, Metric, View};
use crate::figures::{Breakdown, Bucket, Figures, Request, figure_sets, midnight};
use crate::scope::{Filter, Known, Selection};
use crate::temp::set_names;

/// Failed deployments listed per team (the newest).
pub const MAX_FAILED: usize = 10;
/// Incidents listed per failed deployment.
pub const MAX_CAUSES: usize = 5;
/// Lead-time samples listed per team (the longest).
pub const MAX_LEAD_TIMES: usize = 5;
/// Open incidents listed per team (the newest).
pub const MAX_OPEN: usize = 10;
/// Annotations listed per team (the newest of the period).
pub const MAX_ANNOTATIONS: usize = 20;

/// What a digest is asked for.
#[derive(Debug, Clone, Copy)]
pub struct DigestRequest<'a> {
    pub settings: &'a Settings,
    pub known: &'a Known,
    pub goals: &'a GoalBook,
    pub period: Period,
    /// One team only (`--team`); `None`: every team, and the services without one.
    pub team: Option<&'a str>,
}

/// The digest of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub period: Period,
    /// The period of the same length just before, which the changes compare with.
    pub previous: Period,
    /// Teams in code-point order, the services without a team last.
    pub teams: Vec<TeamDigest>,
}

/// One team's part of the digest.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamDigest {
    /// `None`: the services without a team.
    pub team: Option<String>,
    /// In code-point order.
    pub services: Vec<String>,
    /// The six figures in [`Metric::ALL`] order, each with its previous value and
    /// change (the dashboard's tiles, without their weekly values).
    pub figures: Vec<Tile>,
    /// The previous period's figures as a whole.
    pub previous: Figures,
    /// The team's goals judged on the team's figures, then each service's own goals
    /// (with the team's for those it does not set) on the service's.
    pub goals: Vec<GoalLine>,
    pub failed: Listed<FailedDeployment>,
    pub longest_lead_times: Listed<LeadTimeSample>,
    pub open_incidents: Listed<OpenIncident>,
    pub annotations: Listed<Annotation>,
}

impl TeamDigest {
    pub fn figure(&self, metric: Metric) -> &Tile {
        self.figures
            .iter()
            .find(|t| t.metric == metric)
            .expect("a team digest has every figure")
    }
}

/// The first rows of a list, and how many rows it has in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub rows: Vec<T>,
    pub total: i64,
}

impl<T> Default for Listed<T> {
    fn default() -> Self {
        Listed {
            rows: Vec::new(),
            total: 0,
        }
    }
}

/// A goal judged: the team's (`service: None`) or a service's.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalLine {
    pub service: Option<String>,
    pub check: GoalCheck,
}

/// A failed deployment of the period and what failed it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedDeployment {
    pub deployment_id: String,
    pub service: String,
    pub finished_at: Timestamp,
    pub sha: String,
    /// `incident`, `rollback` or `incident+rollback` (SPEC §3.5).
    pub cause: String,
    /// The deployment that rolled it back.
    pub rolled_back_by: Option<String>,
    /// The first [`MAX_CAUSES`] incidents attributed to it.
    pub incidents: Vec<IncidentRef>,
    pub recovered_at: Option<Timestamp>,
    pub recovery_hours: Option<f64>,
}

/// An incident named by a failed deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRef {
    pub id: String,
    pub title: Option<String>,
}

/// One lead-time sample (SPEC §3.2) of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadTimeSample {
    pub sha: String,
    pub repo: Option<String>,
    pub service: String,
    pub deployment_id: String,
    pub deployed_at: Timestamp,
    pub hours: f64,
    /// The first line of the commit's message, when the commit is stored.
    pub title: Option<String>,
}

/// An incident still open at the end of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub id: String,
    pub service: String,
    pub opened_at: Timestamp,
    pub severity: Option<String>,
    pub title: Option<String>,
}

/// The period of the same length just before `period`.
pub fn previous_period(period: Period) -> Period {
    let days = Days::new(period.days().unsigned_abs());
    Period::new(period.from() - days, period.from()).expect("a period has at least one day")
}

/// The digest `request` asks for.
pub fn digest(conn: &Connection, request: &DigestRequest<'_>) -> Result<Digest, QueryError> {
    let period = request.period;
    let previous = previous_period(period);
    let groups = groups(request.known, request.team);
    let view = View {
        period,
        filter: Filter::default(),
        bands: request.settings.bands,
        bucket: BucketSize::Week,
    };
    let bands = BandTable::of(request.settings.bands);
    let mut teams = Vec::with_capacity(groups.len());
    for (team, services) in &groups {
        teams.push(team_figures(
            conn,
            request,
            &view,
            &bands,
            team.clone(),
            services,
        )?);
    }
    // The lists: one query each for every service of the digest, at most the cap per
    // service, then each team's first rows from its services' (a team's first N are
    // among its services' first N each).
    let all: Vec<&str> = groups
        .iter()
        .flat_map(|(_, s)| s.iter().map(String::as_str))
        .collect();
    set_names(conn, "scope", all.iter().copied())?;
    let group_of: BTreeMap<&str, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(i, (_, s))| s.iter().map(move |s| (s.as_str(), i)))
        .collect();
    let team_index: BTreeMap<Option<&str>, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (t.as_deref(), i))
        .collect();

    for (service, total, row) in failed_deployments(conn, period)? {
        if let Some(&i) = group_of.get(service.as_str()) {
            push(&mut teams[i].failed, row, total, MAX_FAILED);
        }
    }
    for (service, total, row) in longest_lead_times(conn, period)? {
        if let Some(&i) = group_of.get(service.as_str()) {
            push(&mut teams[i].longest_lead_times, row, total, MAX_LEAD_TIMES);
        }
    }
    for (service, total, row) in open_incidents(conn, period)? {
        if let Some(&i) = group_of.get(service.as_str()) {
            push(&mut teams[i].open_incidents, row, total, MAX_OPEN);
        }
    }
    let filter = Filter {
        service: None,
        team: request.team.map(str::to_owned),
    };
    let notes = crate::annotations::list(conn, request.known, period, &filter)?;
    for note in notes.into_iter().rev() {
        // The organisation's notes go to every team; a team's to that team; a
        // service's to its service's team.
        let service = note.service.as_ref().map(|s| s.as_str().to_owned());
        let owner = note.team.clone().or_else(|| {
            service
                .as_deref()
                .and_then(|s| request.known.team_of(s).map(str::to_owned))
        });
        let targets: Vec<usize> = match (&owner, &service) {
            (None, None) => (0..teams.len()).collect(),
            (Some(team), _) => team_index
                .get(&Some(team.as_str()))
                .copied()
                .into_iter()
                .collect(),
            (None, Some(s)) => group_of.get(s.as_str()).copied().into_iter().collect(),
        };
        for i in targets {
            let listed = &mut teams[i].annotations;
            listed.total += 1;
            if listed.rows.len() < MAX_ANNOTATIONS {
                listed.rows.push(note.clone());
            }
        }
    }
    for t in &mut teams {
        // Read newest first to keep the newest; listed in time order.
        t.annotations.rows.reverse();
    }
    Ok(Digest {
        period,
        previous,
        teams,
    })
}

/// Adds a row that was read with its service's `total`: the first row of each
/// service adds its total (rows come newest or longest first across services, so a
/// team's first `cap` rows are the first `cap` read).
fn push<T>(listed: &mut Listed<T>, (first, row): (bool, T), total: i64, cap: usize) {
    if first {
        listed.total += total;
    }
    if listed.rows.len() < cap {
        listed.rows.push(row);
    }
}

/// The teams of the digest, each with its services: every team the known services
/// have (or only `team`), then the services without one.
fn groups(known: &Known, team: Option<&str>) -> Vec<(Option<String>, Vec<String>)> {
    let mut teams: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unowned = Vec::new();
    for s in &known.services {
        match &s.team {
            Some(t) => teams.entry(t.clone()).or_default().push(s.service.clone()),
            None => unowned.push(s.service.clone()),
        }
    }
    let mut groups: Vec<(Option<String>, Vec<String>)> = match team {
        Some(team) => vec![(
            Some(team.to_owned()),
            teams.remove(team).unwrap_or_default(),
        )],
        None => teams.into_iter().map(|(t, s)| (Some(t), s)).collect(),
    };
    if team.is_none() && !unowned.is_empty() {
        groups.push((None, unowned));
    }
    groups
}

/// A team's figures for both periods (and, where a service sets goals of its own, the
/// service's), its tiles and its goals judged; the lists are filled afterwards.
fn team_figures(
    conn: &Connection,
    request: &DigestRequest<'_>,
    view: &View,
    bands: &BandTable,
    team: Option<String>,
    services: &[String],
) -> Result<TeamDigest, QueryError> {
    let period = request.period;
    let previous = previous_period(period);
    let with_goals: Vec<&String> = services
        .iter()
        .filter(|s| request.goals.services.contains_key(s.as_str()))
        .collect();
    let breakdown = if with_goals.is_empty() {
        Breakdown::TotalOnly
    } else {
        Breakdown::PerService
    };
    let selection = Selection {
        services: services.to_vec(),
        filtered: true,
        // The digest shows the six DORA figures: no aborted rollouts to count.
        aborted_production: Vec::new(),
    };
    let buckets = [Bucket::whole(previous), Bucket::whole(period)];
    let rows = if services.is_empty() {
        vec![
            Figures::empty(previous.from()),
            Figures::empty(period.from()),
        ]
    } else {
        figure_sets(
            conn,
            &selection,
            &[Request {
                buckets: &buckets,
                breakdown,
            }],
        )?
        .pop()
        .expect("one set per request")
    };
    let total = |bucket: chrono::NaiveDate| {
        rows.iter()
            .find(|f| f.bucket == bucket && f.service.is_none())
            .cloned()
            .unwrap_or_else(|| Figures::empty(bucket))
    };
    let (before, now) = (total(previous.from()), total(period.from()));
    let figures = Metric::ALL
        .into_iter()
        .map(|metric| tile(metric, bands, view, &now, &before, Vec::new()))
        .collect();
    let days = period.days();
    let mut goals: Vec<GoalLine> = Vec::new();
    if let Some(team_goals) = team.as_deref().and_then(|t| request.goals.team(t)) {
        goals.extend(
            team_goals
                .check(|g| now.goal_actual(g, days))
                .into_iter()
                .map(|check| GoalLine {
                    service: None,
                    check,
                }),
        );
    }
    for service in with_goals {
        let Some(own) = request.goals.service(service, team.as_deref()) else {
            continue;
        };
        let figures = rows
            .iter()
            .find(|f| f.bucket == period.from() && f.service.as_ref() == Some(service))
            .cloned()
            .unwrap_or_else(|| Figures::empty(period.from()));
        goals.extend(
            own.check(|g| figures.goal_actual(g, days))
                .into_iter()
                .map(|check| GoalLine {
                    service: Some(service.clone()),
                    check,
                }),
        );
    }
    Ok(TeamDigest {
        team,
        services: services.to_vec(),
        figures,
        previous: before,
        goals,
        failed: Listed::default(),
        longest_lead_times: Listed::default(),
        open_incidents: Listed::default(),
        annotations: Listed::default(),
    })
}

type Read<T> = Vec<(String, i64, (bool, T))>;

fn period_params(period: Period) -> Vec<Value> {
    vec![midnight(period.from()), midnight(period.to())]
}

fn cap(n: usize) -> Value {
    Value::BigInt(i64::try_from(n).expect("a small cap"))
}

/// Whether `service` is seen for the first time (its first row carries its total).
fn first_of(seen: &mut std::collections::BTreeSet<String>, service: &str) -> bool {
    seen.insert(service.to_owned())
}

fn failed_deployments(
    conn: &Connection,
    period: Period,
) -> Result<Read<FailedDeployment>, QueryError> {
    const SQL: &str = concat!(
        include_str!("sql/explain/deployments.sql"),
        include_str!("sql/digest/failed_deployments.sql")
    );
    let mut params = period_params(period);
    params.extend([Value::Boolean(true), cap(MAX_FAILED), cap(MAX_CAUSES)]);
    let mut stmt = conn.prepare_cached(SQL)?;
    let mut rows = stmt.query(params_from_iter(&params))?;
    // One row per attributed incident: consecutive rows of one deployment join.
    let mut out: Read<FailedDeployment> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        let incident: Option<IncidentRef> = row
            .get::<_, Option<String>>(9)?
            .map(|id| -> duckdb::Result<IncidentRef> {
                Ok(IncidentRef {
                    id,
                    title: row.get::<_, Option<String>>(10)?.map(|t| first_line(&t)),
                })
            })
            .transpose()?;
        if let Some((_, _, (_, last))) = out.last_mut()
            && last.deployment_id == id
        {
            last.incidents.extend(incident);
            continue;
        }
        let service: String = row.get(1)?;
        let first = first_of(&mut seen, &service);
        out.push((
            service.clone(),
            row.get(8)?,
            (
                first,
                FailedDeployment {
                    deployment_id: id,
                    service,
                    finished_at: from_micros(row.get(2)?),
                    sha: row.get(3)?,
                    cause: row.get::<_, Option<String>>(4)?.unwrap_or_default(),
                    rolled_back_by: row.get(5)?,
                    incidents: incident.into_iter().collect(),
                    recovered_at: row.get::<_, Option<i64>>(6)?.map(from_micros),
                    recovery_hours: row.get(7)?,
                },
            ),
        ));
    }
    Ok(out)
}

fn longest_lead_times(
    conn: &Connection,
    period: Period,
) -> Result<Read<LeadTimeSample>, QueryError> {
    const SQL: &str = concat!(
        include_str!("sql/explain/lead_time.sql"),
        include_str!("sql/digest/longest_lead_times.sql")
    );
    let mut params = period_params(period);
    params.push(cap(MAX_LEAD_TIMES));
    read_listed(conn, SQL, &params, (2, 6), |row, service| {
        Ok(LeadTimeSample {
            sha: row.get(0)?,
            repo: row.get(1)?,
            service,
            deployment_id: row.get(3)?,
            deployed_at: from_micros(row.get(4)?),
            hours: row.get(5)?,
            title: row.get::<_, Option<String>>(7)?.map(|m| first_line(&m)),
        })
    })
}

fn open_incidents(conn: &Connection, period: Period) -> Result<Read<OpenIncident>, QueryError> {
    const SQL: &str = include_str!("sql/digest/open_incidents.sql");
    let params = [midnight(period.to()), cap(MAX_OPEN)];
    read_listed(conn, SQL, &params, (1, 5), |row, service| {
        Ok(OpenIncident {
            id: row.get(0)?,
            service,
            opened_at: from_micros(row.get(2)?),
            severity: row.get(3)?,
            title: row.get::<_, Option<String>>(4)?.map(|t| first_line(&t)),
        })
    })
}

/// One item per row of `sql`, as a list reads them: the row's service and the
/// service's total (the columns `(service, total)`), whether it is the service's first
/// row, and the item `item` makes of the row and its service.
fn read_listed<T>(
    conn: &Connection,
    sql: &str,
    params: &[Value],
    (service, total): (usize, usize),
    mut item: impl FnMut(&duckdb::Row<'_>, String) -> duckdb::Result<T>,
) -> Result<Read<T>, QueryError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(row) = rows.next()? {
        let name: String = row.get(service)?;
        let first = first_of(&mut seen, &name);
        out.push((name.clone(), row.get(total)?, (first, item(row, name)?)));
    }
    Ok(out)
}

/// The first line of a message, trimmed: a commit's title.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopedService;

    fn known() -> Known {
        let s = |service: &str, team: Option<&str>| ScopedService {
            service: service.into(),
            team: team.map(str::to_owned),
        };
        Known {
            services: vec![
                s("billing", None),
                s("cart", Some("payments")),
                s("checkout", Some("payments")),
                s("search", Some("discovery")),
            ],
            aborted_production: Vec::new(),
        }
    }

    #[test]
    fn teams_come_in_order_with_the_services_without_a_team_last() {
        let g = groups(&known(), None);
        let names: Vec<(Option<&str>, usize)> =
            g.iter().map(|(t, s)| (t.as_deref(), s.len())).collect();
        assert_eq!(
            names,
            [(Some("discovery"), 1), (Some("payments"), 2), (None, 1)]
        );
        let one = groups(&known(), Some("payments"));
        assert_eq!(
            one,
            [(
                Some("payments".into()),
                vec!["cart".into(), "checkout".into()]
            )]
        );
        assert_eq!(
            groups(&known(), Some("nobody")),
            [(Some("nobody".into()), vec![])]
        );
    }

    #[test]
    fn the_previous_period_has_the_same_length() {
        let p = Period::new("2026-02-09".parse().unwrap(), "2026-02-16".parse().unwrap()).unwrap();
        let before = previous_period(p);
        assert_eq!(before.from().to_string(), "2026-02-02");
        assert_eq!(before.to(), p.from());
    }

    /// The dashboard tests' history (`dashboard/tests.rs`): service `shop`, no team;
    /// d1 = a at 03-01 10:00 (sample a 2 h), d2 = c at 03-03 12:00 (b 28 h, c 16 h);
    /// i1 (03-03 13:00–15:00, rule c) fails d2, recovered 3 h after it; i2 (opened
    /// 03-04 01:00, still open, sha a, rule b) fails d1; d2 is rework. Plus one note in
    /// the period and one after it.
    fn history() -> Connection {
        let lines = [
            r#"{"type":"change","repo":"acme/shop","sha":"a","parents":[],"committed_at":"2026-03-01T08:00:00Z","message":"first\nbody"}"#,
            r#"{"type":"change","repo":"acme/shop","sha":"b","parents":["a"],"committed_at":"2026-03-02T08:00:00Z","message":"second"}"#,
            r#"{"type":"change","repo":"acme/shop","sha":"c","parents":["b"],"committed_at":"2026-03-03T08:00:00Z","pr":{"number":7,"first_commit_at":"2026-03-02T20:00:00Z","opened_at":"2026-03-03T06:00:00Z","merged_at":"2026-03-03T08:00:00Z"}}"#,
            r#"{"type":"deployment","id":"d1","service":"shop","repo":"acme/shop","sha":"a","finished_at":"2026-03-01T10:00:00Z"}"#,
            r#"{"type":"deployment","id":"d2","service":"shop","repo":"acme/shop","sha":"c","finished_at":"2026-03-03T12:00:00Z"}"#,
            r#"{"type":"incident","id":"i1","service":"shop","opened_at":"2026-03-03T13:00:00Z","resolved_at":"2026-03-03T15:00:00Z","title":"checkout down"}"#,
            r#"{"type":"incident","id":"i2","service":"shop","opened_at":"2026-03-04T01:00:00Z","sha":"a"}"#,
            r#"{"type":"annotation","id":"n1","at":"2026-03-02T00:00:00Z","text":"new on-call rota"}"#,
            r#"{"type":"annotation","id":"n2","at":"2026-03-06T00:00:00Z","text":"later"}"#,
        ];
        crate::derive::tests::store(&[&lines])
    }

    #[test]
    fn a_digest_lists_what_failed_each_deployment_the_longest_samples_and_what_is_open() {
        let conn = history();
        let settings = Settings::default();
        let known = Known::read(&conn, &settings).unwrap();
        let mut goals = GoalBook::default();
        let mut shop = shiplog_model::goals::Goals::default();
        shop.set(shiplog_model::goals::Goal::ReworkRate, 0.1)
            .unwrap();
        goals.services.insert("shop".into(), shop);
        let period =
            Period::new("2026-03-01".parse().unwrap(), "2026-03-05".parse().unwrap()).unwrap();
        let d = digest(
            &conn,
            &DigestRequest {
                settings: &settings,
                known: &known,
                goals: &goals,
                period,
                team: None,
            },
        )
        .unwrap();
        assert_eq!(d.previous.from().to_string(), "2026-02-25");
        let [t] = &d.teams[..] else {
            panic!("one group: {:?}", d.teams)
        };
        assert_eq!(
            (t.team.as_deref(), t.services.as_slice()),
            (None, &["shop".to_owned()][..])
        );
        assert_eq!(t.figure(Metric::DeploymentFrequency).figures.deployments, 2);
        assert_eq!(t.previous.deployments, 0);

        let failed: Vec<(&str, &str, Vec<&str>, Option<f64>)> = t
            .failed
            .rows
            .iter()
            .map(|f| {
                (
                    f.deployment_id.as_str(),
                    f.cause.as_str(),
                    f.incidents.iter().map(|i| i.id.as_str()).collect(),
                    f.recovery_hours,
                )
            })
            .collect();
        assert_eq!(
            failed,
            [
                ("d2", "incident", vec!["i1"], Some(3.0)),
                ("d1", "incident", vec!["i2"], None),
            ]
        );
        assert_eq!(t.failed.total, 2);
        assert_eq!(
            t.failed.rows[0].incidents[0].title.as_deref(),
            Some("checkout down")
        );

        let samples: Vec<(&str, f64, Option<&str>)> = t
            .longest_lead_times
            .rows
            .iter()
            .map(|s| (s.sha.as_str(), s.hours, s.title.as_deref()))
            .collect();
        assert_eq!(
            samples,
            [
                ("b", 28.0, Some("second")),
                ("c", 16.0, None),
                ("a", 2.0, Some("first"))
            ]
        );
        assert_eq!(t.longest_lead_times.total, 3);

        let open: Vec<&str> = t
            .open_incidents
            .rows
            .iter()
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(open, ["i2"]);
        let notes: Vec<&str> = t.annotations.rows.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(notes, ["n1"]);

        // shop's own goal, judged on its figures: 1 rework of 2 deployments.
        let [g] = &t.goals[..] else {
            panic!("one goal: {:?}", t.goals)
        };
        assert_eq!(g.service.as_deref(), Some("shop"));
        assert_eq!((g.check.actual, g.check.met()), (Some(0.5), Some(false)));

        // A period that ends before i2 opened has nothing open.
        let early =
            Period::new("2026-03-01".parse().unwrap(), "2026-03-04".parse().unwrap()).unwrap();
        let d = digest(
            &conn,
            &DigestRequest {
                settings: &settings,
                known: &known,
                goals: &goals,
                period: early,
                team: None,
            },
        )
        .unwrap();
        assert!(d.teams[0].open_incidents.rows.is_empty());
    }

    #[test]
    fn a_title_is_the_first_line_trimmed() {
        assert_eq!(
            first_line("  fix the cart (#12)\n\nlong body"),
            "fix the cart (#12)"
        );
        assert_eq!(first_line(""), "");
    }
}
