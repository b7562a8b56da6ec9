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
    /// When set, a release reaching several production environments (one per region)
    /// within this many hours of its first is one deployment: each later region's
    /// deployment of the same sha, in a production environment the release has not
    /// reached yet, counts for no figure. `None` (the default): every deployment counts.
    pub multi_region_window_hours: Option<u32>,
    pub main_branches: Vec<String>,
    pub bands: BandsVersion,
    pub services: BTreeMap<String, ServiceSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            production_environments: vec!["production".into(), "prod".into()],
            attribution_window_hours: 168,
            multi_region_window_hours: None,
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

    /// Whether `environment` (absent: the default) is production: a case-insensitive
    /// match of the whole name against an entry of the list (`Prod` is; `preprod` is
    /// not), where `*` in an entry stands for any run of characters (`prod-*` takes
    /// `prod-eu` and `prod-us`, not `prod`).
    pub fn is_production(&self, environment: Option<&str>) -> bool {
        let env = environment
            .unwrap_or(Self::DEFAULT_ENVIRONMENT)
            .to_lowercase();
        self.production_environments
            .iter()
            .any(|entry| glob_match(entry, &env))
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

/// Matches `text` against `pattern`, where `*` stands for any run of characters: the
/// one reading of every configured name pattern (production environments, deploy
/// workflows, release repositories). Case is the caller's to fold.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("deploy*", "deploy-prod"));
        assert!(glob_match("deploy*", "deploy"));
        assert!(glob_match("*release", "nightly release"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-c"));
        assert!(glob_match("release", "release"));
        assert!(!glob_match("release", "release-2"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn production_entries_may_be_patterns() {
        let mut s = Settings::default();
        s.set_production_environments(["production", "Prod-*"]);
        assert!(s.is_production(Some("prod-eu")));
        assert!(s.is_production(Some("PROD-US-east")));
        assert!(s.is_production(None));
        assert!(!s.is_production(Some("prod")), "`prod-*` needs the dash");
        assert!(!s.is_production(Some("preprod-eu")));
        assert!(!s.is_production(Some("production-eu")));
    }

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
