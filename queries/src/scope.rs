//! Which services a report covers: those with a successful production deployment or
//! an incident, narrowed by a service or team filter (SPEC §1: a service's team is the
//! config map's, else the one its latest deployment carries).

use duckdb::Connection;
use shiplog_model::Settings;

use crate::QueryError;

/// A service and/or team filter; both absent selects every service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub service: Option<String>,
    pub team: Option<String>,
}

/// A service that counts, with its team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopedService {
    pub service: String,
    pub team: Option<String>,
}

/// The services `filter` selects.
pub fn select(
    conn: &Connection,
    settings: &Settings,
    filter: &Filter,
) -> Result<Selection, QueryError> {
    Ok(Known::read(conn, settings)?.select(filter))
}

/// Every service that counts, read once per page and handed to each of its reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// In code-point order.
    pub services: Vec<ScopedService>,
    /// The environments stored aborted rollouts name that are production (`""` for
    /// an attempt that names none), for the aborted-rollouts figure: production is
    /// a list of patterns, read here by `Settings::is_production` rather than again
    /// in SQL.
    pub aborted_production: Vec<String>,
}

impl Known {
    pub fn read(conn: &Connection, settings: &Settings) -> Result<Known, QueryError> {
        let mut stmt = conn.prepare_cached(include_str!("sql/report_services.sql"))?;
        let mut services: Vec<ScopedService> = stmt
            .query_map([], |row| {
                let service: String = row.get(0)?;
                let carried: Option<String> = row.get(1)?;
                let team = settings.team_of(&service).map(str::to_owned).or(carried);
                Ok(ScopedService { service, team })
            })?
            .collect::<Result<_, _>>()?;
        // Code-point order of the raw name, whatever the database's collation.
        services.sort_by(|a, b| a.service.cmp(&b.service));
        let mut stmt = conn.prepare_cached(
            "SELECT DISTINCT COALESCE(environment, '') FROM deployments WHERE status = ?",
        )?;
        let aborted_production = stmt
            .query_map([shiplog_model::ABORTED], |row| row.get::<_, String>(0))?
            .filter(|name| {
                name.as_ref().map_or(true, |name| {
                    settings.is_production(Some(name.as_str()).filter(|n| !n.is_empty()))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Known {
            services,
            aborted_production,
        })
    }

    pub fn get(&self, service: &str) -> Option<&ScopedService> {
        self.services
            .binary_search_by(|s| s.service.as_str().cmp(service))
            .ok()
            .map(|at| &self.services[at])
    }

    pub fn team_of(&self, service: &str) -> Option<&str> {
        self.get(service)?.team.as_deref()
    }

    /// The services `filter` selects.
    pub fn select(&self, filter: &Filter) -> Selection {
        let services = self
            .services
            .iter()
            .filter(|s| filter.service.as_ref().is_none_or(|f| *f == s.service))
            .filter(|s| {
                filter
                    .team
                    .as_ref()
                    .is_none_or(|t| s.team.as_ref() == Some(t))
            })
            .map(|s| s.service.clone())
            .collect();
        Selection {
            services,
            filtered: filter.service.is_some() || filter.team.is_some(),
            aborted_production: self.aborted_production.clone(),
        }
    }
}

/// The services a read covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// In code-point order.
    pub services: Vec<String>,
    /// Whether a filter chose them. Without one they are every service that counts,
    /// and every stored deployment and incident belongs to one of them: a read need
    /// not check each row against the list.
    pub filtered: bool,
    /// [`Known::aborted_production`].
    pub aborted_production: Vec<String>,
}
