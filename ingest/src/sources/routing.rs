//! Which service and environment a delivery belongs to (SPEC §7 `[services.NAME]`,
//! `[environment_aliases]`, `[sources.*]`). Every adapter asks here, so one config
//! change (and a `shiplog replay`) re-routes every source alike.

use std::collections::BTreeMap;

pub use shiplog_model::glob_match;
use shiplog_model::{ServiceSettings, Settings};

/// The mapping config the adapters read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    pub services: BTreeMap<String, ServiceSettings>,
    /// Lower-case alias → environment name (`prd` → `production`).
    pub environment_aliases: BTreeMap<String, String>,
    /// GitHub `workflow_run` names (`*` matches any run of characters) that deploy.
    pub github_deploy_workflows: Vec<String>,
    /// `[sources.github] release_repos`: repositories (globs, as above) whose
    /// published releases are deployments.
    pub github_release_repos: Vec<String>,
    /// `[sources.circleci] deploy_workflows`: CircleCI workflow names (globs, as
    /// above) whose completed workflows are deployments.
    pub circleci_deploy_workflows: Vec<String>,
    /// `[sources.buildkite] deploy_pipelines`: Buildkite pipeline slugs or names
    /// (globs, as above) whose finished builds are deployments.
    pub buildkite_deploy_pipelines: Vec<String>,
    /// ArgoCD application → environment, over the app's `environment` label.
    pub argocd_environments: BTreeMap<String, String>,
    /// `[sources.jira]`: which issues are incidents and where their service is written.
    pub jira: JiraRouting,
}

/// `[sources.jira]`'s options: an issue is an incident when its type is one of
/// `issue_types` or it carries one of `labels` (both case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraRouting {
    pub issue_types: Vec<String>,
    pub labels: Vec<String>,
    /// A field of the issue (`customfield_10050`) that names its service.
    pub service_field: Option<String>,
}

impl Default for JiraRouting {
    fn default() -> JiraRouting {
        JiraRouting {
            issue_types: vec!["Incident".to_owned()],
            labels: Vec::new(),
            service_field: None,
        }
    }
}

impl JiraRouting {
    /// Whether an issue of type `issue_type` with `labels` is an incident.
    pub fn is_incident(&self, issue_type: Option<&str>, labels: &[&str]) -> bool {
        let listed =
            |list: &[String], name: &str| list.iter().any(|l| l.eq_ignore_ascii_case(name));
        issue_type.is_some_and(|t| listed(&self.issue_types, t))
            || labels.iter().any(|l| listed(&self.labels, l))
    }
}

impl Routing {
    /// The service map of `settings`, with no aliases or source options.
    pub fn from_settings(settings: &Settings) -> Routing {
        Routing {
            services: settings.services.clone(),
            ..Routing::default()
        }
    }

    /// The environment named `raw`, through the alias table (case-insensitive).
    pub fn environment(&self, raw: &str) -> String {
        let raw = raw.trim();
        self.environment_aliases
            .get(&raw.to_lowercase())
            .cloned()
            .unwrap_or_else(|| raw.to_owned())
    }

    /// Whether a GitHub workflow called `name` is a deployment.
    pub fn is_deploy_workflow(&self, name: &str) -> bool {
        matches_any(&self.github_deploy_workflows, name)
    }

    /// Whether a CircleCI workflow called `name` is a deployment.
    pub fn is_circleci_deploy_workflow(&self, name: &str) -> bool {
        matches_any(&self.circleci_deploy_workflows, name)
    }

    /// Whether a Buildkite pipeline (its slug or its name) is a deployment.
    pub fn is_buildkite_deploy_pipeline(&self, slug: &str, name: &str) -> bool {
        matches_any(&self.buildkite_deploy_pipelines, slug)
            || matches_any(&self.buildkite_deploy_pipelines, name)
    }

    /// The service a deploy workflow (GitHub Actions, CircleCI) of `repo` deploys.
    ///
    /// A workflow's name (`Deploy`, `CD`) is what its authors called the workflow, not
    /// a service. [`Routing::repo_service`] takes a deploy name at its word when no
    /// service claims the repository (the name becomes the service), which would file
    /// every unconfigured repository's deployments under a service called `Deploy`. So
    /// the name is passed only when a configured service lists it, as its own name or
    /// under `deploy_names` (how a monorepo's deploy workflows are told apart); otherwise
    /// the repository alone decides.
    pub fn deploy_service(&self, repo: &str, workflow: &str) -> Result<String, String> {
        let listed = self
            .services
            .iter()
            .any(|(name, service)| Self::claims(name, service, workflow));
        self.repo_service(repo, listed.then_some(workflow))
    }

    /// Whether a published release of GitHub repository `repo` is a deployment.
    pub fn is_release_repo(&self, repo: &str) -> bool {
        matches_any(&self.github_release_repos, repo)
    }

    fn claims(name: &str, service: &ServiceSettings, deploy_name: &str) -> bool {
        name.eq_ignore_ascii_case(deploy_name)
            || service
                .deploy_names
                .iter()
                .any(|d| d.eq_ignore_ascii_case(deploy_name))
    }

    /// The service a deployment in `repo` belongs to. `deploy_name` is what the
    /// sender calls the deployed thing when it says (a GitHub deployment's
    /// `payload.service`, a workflow's name, a CDEvents service id):
    ///
    /// 1. the service of `repo` whose name or `deploy_names` is `deploy_name`;
    /// 2. else any configured service whose name or `deploy_names` is `deploy_name`;
    /// 3. else the one service whose `repo` is `repo`;
    /// 4. else, when no service claims `repo`, `deploy_name` or the repo's own name
    ///    (`acme/shop` → `shop`).
    ///
    /// A monorepo claimed by several services with no deploy name to tell them apart
    /// is refused with the reason, so the delivery is kept unmapped until the config
    /// says (then `shiplog replay` maps it).
    pub fn repo_service(&self, repo: &str, deploy_name: Option<&str>) -> Result<String, String> {
        let claimants: Vec<(&String, &ServiceSettings)> = self
            .services
            .iter()
            .filter(|(_, s)| {
                s.repo
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(repo))
            })
            .collect();
        if let Some(deploy_name) = deploy_name.filter(|d| !d.trim().is_empty()) {
            if let Some((name, _)) = claimants
                .iter()
                .find(|(name, s)| Self::claims(name, s, deploy_name))
            {
                return Ok((*name).clone());
            }
            if let Some((name, _)) = self
                .services
                .iter()
                .find(|(name, s)| Self::claims(name, s, deploy_name))
            {
                return Ok(name.clone());
            }
        }
        match claimants.as_slice() {
            [(name, _)] => Ok((*name).clone()),
            [] => Ok(deploy_name
                .filter(|d| !d.trim().is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_owned())),
            several => Err(format!(
                "repository {repo} belongs to several services ({}) and the delivery names none of them{}; \
                 list the name under `deploy_names` of one service, then run `shiplog replay`",
                several
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                deploy_name.map_or(String::new(), |d| format!(" (it says {d:?})")),
            )),
        }
    }

    /// The service a sender names without a repository (a CDEvents service id): the
    /// configured service whose name or `deploy_names` is `name`, else `name` itself.
    pub fn service_named(&self, name: &str) -> String {
        self.services
            .iter()
            .find(|(service, s)| Self::claims(service, s, name))
            .map_or_else(|| name.to_owned(), |(service, _)| service.clone())
    }

    /// The service an ArgoCD application belongs to: the one listing it under
    /// `argocd_apps`, else the application's own name.
    pub fn argocd_service(&self, app: &str) -> String {
        self.services
            .iter()
            .find(|(_, s)| s.argocd_apps.iter().any(|a| a == app))
            .map_or_else(|| app.to_owned(), |(name, _)| name.clone())
    }

    /// The service an Argo Rollouts Rollout belongs to: the one listing its name under
    /// `deploy_names` or `argocd_apps` (the Application that syncs it is usually named
    /// alike), else the Rollout's name.
    pub fn rollout_service(&self, rollout: &str) -> String {
        self.services
            .iter()
            .find(|(_, s)| {
                s.deploy_names
                    .iter()
                    .chain(&s.argocd_apps)
                    .any(|n| n == rollout)
            })
            .map_or_else(|| rollout.to_owned(), |(name, _)| name.clone())
    }

    /// The service a PagerDuty service belongs to: the one listing its id (or its
    /// name) under `pagerduty_services`, else the PagerDuty service's name.
    pub fn pagerduty_service(&self, id: Option<&str>, name: Option<&str>) -> Option<String> {
        let listed = |s: &ServiceSettings| {
            s.pagerduty_services
                .iter()
                .any(|p| Some(p.as_str()) == id || Some(p.as_str()) == name)
        };
        self.services
            .iter()
            .find(|(_, s)| listed(s))
            .map(|(n, _)| n.clone())
            .or_else(|| name.map(str::to_owned))
    }
}

/// What an Opsgenie alert says about where it belongs (`alert.teams`, `alert.tags`,
/// `alert.entity`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpsgenieAlert<'a> {
    pub teams: &'a [&'a str],
    pub tags: &'a [&'a str],
    pub entity: Option<&'a str>,
}

/// What a Jira issue says about where it belongs.
#[derive(Debug, Clone, Copy, Default)]
pub struct JiraIssue<'a> {
    /// The value of `[sources.jira] service_field`, when configured and set.
    pub field: Option<&'a str>,
    pub components: &'a [&'a str],
    pub labels: &'a [&'a str],
    pub project: Option<&'a str>,
}

impl Routing {
    fn listing(
        &self,
        list: impl Fn(&ServiceSettings) -> &Vec<String>,
        names: &[&str],
    ) -> Option<String> {
        self.services
            .iter()
            .find(|(_, s)| {
                list(s)
                    .iter()
                    .any(|l| names.iter().any(|n| l.eq_ignore_ascii_case(n)))
            })
            .map(|(name, _)| name.clone())
    }

    /// The service an Opsgenie alert belongs to: the one listing one of its teams under
    /// `opsgenie_teams`, else one listing one of its tags under `opsgenie_tags`, else
    /// the service named as the alert's entity (through [`Routing::service_named`]).
    /// A team is never taken as a service name: a team owns several services.
    pub fn opsgenie_service(&self, alert: OpsgenieAlert<'_>) -> Option<String> {
        self.listing(|s| &s.opsgenie_teams, alert.teams)
            .or_else(|| self.listing(|s| &s.opsgenie_tags, alert.tags))
            .or_else(|| alert.entity.map(|e| self.service_named(e)))
    }

    /// The service a Jira incident issue belongs to, the first that applies:
    ///
    /// 1. the value of `[sources.jira] service_field` (through [`Routing::service_named`]);
    /// 2. the service listing one of its components under `jira_components`;
    /// 3. a configured service named (or `deploy_names`) as one of its components or
    ///    labels;
    /// 4. the service listing its project's key under `jira_projects`;
    /// 5. its only component's name.
    pub fn jira_service(&self, issue: JiraIssue<'_>) -> Option<String> {
        if let Some(field) = issue.field {
            return Some(self.service_named(field));
        }
        let named = |names: &[&str]| {
            self.services
                .iter()
                .find(|(service, s)| names.iter().any(|n| Self::claims(service, s, n)))
                .map(|(service, _)| service.clone())
        };
        self.listing(|s| &s.jira_components, issue.components)
            .or_else(|| named(issue.components))
            .or_else(|| named(issue.labels))
            .or_else(|| {
                let project = issue.project?;
                self.listing(|s| &s.jira_projects, &[project])
            })
            .or_else(|| match issue.components {
                [only] => Some((*only).to_owned()),
                _ => None,
            })
    }
}

/// Whether `name` matches one of `patterns` ([`glob_match`], case-insensitive): the
/// one reading of every configured list of names that deploy.
pub fn matches_any(patterns: &[String], name: &str) -> bool {
    let name = name.to_lowercase();
    patterns
        .iter()
        .any(|pattern| glob_match(&pattern.to_lowercase(), &name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(repo: &str, deploy_names: &[&str]) -> ServiceSettings {
        ServiceSettings {
            repo: Some(repo.into()),
            deploy_names: deploy_names.iter().map(|s| (*s).into()).collect(),
            ..ServiceSettings::default()
        }
    }

    #[test]
    fn repo_routing() {
        let mut r = Routing::default();
        assert_eq!(r.repo_service("acme/shop", None).unwrap(), "shop");
        assert_eq!(r.repo_service("acme/shop", Some("web")).unwrap(), "web");
        r.services
            .insert("checkout".into(), service("acme/shop", &["checkout-api"]));
        assert_eq!(r.repo_service("acme/shop", None).unwrap(), "checkout");
        assert_eq!(
            r.repo_service("ACME/Shop", Some("other")).unwrap(),
            "checkout"
        );
        r.services
            .insert("search".into(), service("acme/shop", &[]));
        let refused = r.repo_service("acme/shop", None).unwrap_err();
        assert!(refused.contains("checkout, search"), "{refused}");
        assert_eq!(
            r.repo_service("acme/shop", Some("checkout-api")).unwrap(),
            "checkout"
        );
        assert_eq!(
            r.repo_service("acme/shop", Some("Search")).unwrap(),
            "search"
        );
    }

    #[test]
    fn a_workflow_name_is_not_taken_for_a_service_unless_the_config_lists_it() {
        let mut routing = Routing::default();
        assert_eq!(
            routing.deploy_service("acme/shop", "Deploy").unwrap(),
            "shop"
        );
        routing.services.insert(
            "checkout".into(),
            service("acme/shop", &["deploy-checkout"]),
        );
        routing
            .services
            .insert("search".into(), service("acme/shop", &[]));
        assert_eq!(
            routing
                .deploy_service("acme/shop", "Deploy-Checkout")
                .unwrap(),
            "checkout"
        );
        assert_eq!(
            routing.deploy_service("acme/shop", "search").unwrap(),
            "search"
        );
        let refused = routing.deploy_service("acme/shop", "Deploy").unwrap_err();
        assert!(refused.contains("checkout, search"), "{refused}");
    }

    #[test]
    fn aliases_and_apps() {
        let mut r = Routing::default();
        r.environment_aliases
            .insert("prd".into(), "production".into());
        assert_eq!(r.environment("PRD"), "production");
        assert_eq!(r.environment("staging"), "staging");
        r.services.insert(
            "checkout".into(),
            ServiceSettings {
                argocd_apps: vec!["checkout-prod".into()],
                pagerduty_services: vec!["PXYZ123".into()],
                ..ServiceSettings::default()
            },
        );
        assert_eq!(r.argocd_service("checkout-prod"), "checkout");
        assert_eq!(r.argocd_service("billing"), "billing");
        assert_eq!(
            r.pagerduty_service(Some("PXYZ123"), Some("Shop"))
                .as_deref(),
            Some("checkout")
        );
        assert_eq!(
            r.pagerduty_service(Some("P1"), Some("Shop")).as_deref(),
            Some("Shop")
        );
        assert_eq!(r.pagerduty_service(Some("P1"), None), None);
    }
}
