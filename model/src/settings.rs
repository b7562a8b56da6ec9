//! The configuration that the metric definitions read. Loading it (file, environment)
//! is the binary's job; this is the parsed result.

use std::collections::BTreeMap;

use crate::bands::BandsVersion;

/// What one service maps to (SPEC §7 `[services.NAME]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceSettings {
    pub team: Option<String>,
    pub repo: Option<String>,
    pub paths: Vec<String>,
    pub argocd_apps: Vec<String>,
    pub pagerduty_services: Vec<String>,
    /// What senders call this service's deployments (a GitHub deployment's
    /// `payload.service`, a workflow name, a CDEvents service id): how a monorepo's
    /// deployments are told apart.
    pub deploy_names: Vec<String>,
    /// Opsgenie teams (names or ids) whose alerts are this service's incidents.
    pub opsgenie_teams: Vec<String>,
    /// Opsgenie alert tags that make an alert this service's incident.
    pub opsgenie_tags: Vec<String>,
    /// Jira components whose incident issues are this service's.
    pub jira_components: Vec<String>,
    /// Jira project keys whose incident issues are this service's.
    pub jira_projects: Vec<String>,
}

/// Settings that decide what counts and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Lower-cased names of production environments.
    production_environments: Vec<String>,
    pub attribution_window_hours: u32,
    pub main_branches: Vec<String>,
    pub bands: BandsVersion,
    pub services: BTreeMap<String, ServiceSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            production_environments: vec!["production".into(), "prod".into()],
            attribution_window_hours: 168,
            main_branches: vec!["main".into(), "master".into()],
            bands: BandsVersion::V2023,
            services: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// The environment a deployment without one is in (SPEC §2).
    pub const DEFAULT_ENVIRONMENT: &'static str = "production";

    pub fn set_production_environments<I: IntoIterator<Item = S>, S: AsRef<str>>(
        &mut self,
        names: I,
    ) {
        self.production_environments = names
            .into_iter()
            .map(|n| n.as_ref().trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .collect();
    }

    /// The production environment names, lower-cased.
    pub fn production_environments(&self) -> &[String] {
        &self.production_environments
    }

    /// Whether `environment` (absent: the default) is production: an exact,
    /// case-insensitive match against the list (`Prod` is; `preprod` is not).
    pub fn is_production(&self, environment: Option<&str>) -> bool {
        let env = environment
            .unwrap_or(Self::DEFAULT_ENVIRONMENT)
            .to_lowercase();
        self.production_environments.contains(&env)
    }

    /// The team the config file gives `service`, if any.
    pub fn team_of(&self, service: &str) -> Option<&str> {
        self.services.get(service)?.team.as_deref()
    }

    /// The repository the config file gives `service`, if any.
    pub fn repo_of(&self, service: &str) -> Option<&str> {
        self.services.get(service)?.repo.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_matches_whole_names_case_insensitively() {
        let s = Settings::default();
        assert!(s.is_production(Some("Prod")));
        assert!(
            s.is_production(None),
            "a deployment without environment is in production"
        );
        assert!(!s.is_production(Some("preprod")));
        assert!(!s.is_production(Some("production-eu")));
    }
}
