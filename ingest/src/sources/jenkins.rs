//! The Jenkins CDEvents plugin's events → builds, on the CDEvents route (SPEC §6).
//!
//! The plugin (jenkinsci/cdevents-plugin) sends an early layout that predates the
//! CDEvents spec's `context`/`subject` form: a structured-mode CloudEvent 0.3 whose
//! run attributes sit at the top level (`pipelinename`, `url`, `outcome`) and under
//! `data` (`data.build`: `fullUrl`, `number`, `duration` in milliseconds, `status`,
//! `scmState` with the checkout's `url`, `branch` and `commit`), typed
//! `dev.cdevents.pipelinerun.finished.0.1.0`. [`is_plugin_layout`] tells it from the
//! spec's form; [`map`] reads it.
//!
//! A finished pipeline run that checked out a Git commit of a GitHub or GitLab
//! repository is a build of that commit, as the spec form's `pipelinerun.finished`
//! is. The plugin names no deployment or service, so a Jenkins job that deploys
//! reports it through the typed API (`shiplog notify deploy`) or the spec's
//! `service.deployed`. Its CloudEvent `id` is the build number, shared by every event
//! of a run and by other jobs' runs, so it is no delivery id: a delivery is told by
//! its body's hash (a resent delivery is the same bytes).

use serde_json::Value;
use shiplog_model::{Build, Event, RepoName, Status};

use super::argocd::repo_from_url;
use super::cdevents::subject_and_predicate;
use super::payload::{Node, event_id};
use super::{MapError, Mapping};

/// Whether a structured-mode CloudEvent's `data` is the plugin's layout rather than
/// a CDEvent: a `dev.cdevents.*` type over data without the spec's `context`.
pub fn is_plugin_layout(cloudevent: &Value) -> bool {
    let data = cloudevent.get("data");
    data.is_some_and(Value::is_object) && data.and_then(|d| d.get("context")).is_none()
}

/// Maps one plugin event (`ce_type` is its top-level `type`).
pub fn map(root: Node<'_>, ce_type: &str) -> Result<Mapping, MapError> {
    let outcome = match subject_and_predicate(ce_type) {
        Some(("pipelinerun", "finished")) => pipelinerun_finished(&root)?,
        Some(("pipelinerun", "queued" | "started") | ("taskrun", "started")) => Err(format!(
            "{ce_type}: the run has not finished; Shiplog records pipelinerun.finished"
        )),
        Some(("taskrun", "finished")) => Err(format!(
            "{ce_type}: a stage is part of a pipeline run; Shiplog records pipelinerun.finished"
        )),
        _ => Err(format!(
            "{ce_type}: not a type Shiplog maps from the Jenkins CDEvents plugin \
             (pipelinerun.finished)"
        )),
    };
    Ok(match outcome {
        Ok(event) => Mapping::one(ce_type, None, event),
        Err(why) => Mapping::skipped(ce_type, None, why),
    })
}

fn pipelinerun_finished(root: &Node<'_>) -> Result<Result<Event, String>, MapError> {
    let build = root.object("data")?.object("build")?;
    let job = root.opt_str("pipelinename")?.unwrap_or("the pipeline");
    let run = match build.opt_i64("number")? {
        Some(n) => format!("{job} #{n}"),
        None => job.to_owned(),
    };
    let scm = build.opt_object("scmState")?;
    let sha = match &scm {
        Some(scm) => scm.opt_sha("commit")?,
        None => None,
    };
    let Some((scm, sha)) = scm.zip(sha) else {
        return Ok(Err(format!(
            "{run} reports no data.build.scmState.commit: the job checked out no Git commit, \
             so there is no commit to record a build of"
        )));
    };
    let Some(url) = scm.opt_str("url")? else {
        return Ok(Err(format!(
            "{run} reports no data.build.scmState.url: the build's repository is unknown"
        )));
    };
    let Some(repo) = repo_from_url(url) else {
        return Ok(Err(format!(
            "{run}: data.build.scmState.url {url:?} is not a GitHub or GitLab repository URL, \
             the form commits are stored under"
        )));
    };
    let finished_at = root.time("time")?;
    let started_at = match build.opt_i64("duration")? {
        Some(ms) if ms > 0 => finished_at.checked_sub_signed(chrono::Duration::milliseconds(ms)),
        _ => None,
    };
    // Jenkins' result (SUCCESS, UNSTABLE, FAILURE, ABORTED, NOT_BUILT), else the
    // CloudEvent's `outcome`; only success is a green build.
    let status = match build.opt_str("status")? {
        Some(status) => status,
        None => match root.opt_str("outcome")? {
            Some(outcome) => outcome,
            None => {
                return Ok(Err(format!(
                    "{run} reports no data.build.status or outcome"
                )));
            }
        },
    };
    // The Git plugin names the branch as the remote sees it (`origin/main`).
    let branch = scm.opt_str("branch")?.map(|b| {
        b.strip_prefix("refs/heads/")
            .or_else(|| b.strip_prefix("origin/"))
            .unwrap_or(b)
            .to_owned()
    });
    let id = match build.opt_str("fullUrl")? {
        Some(full) => format!("jenkins:{full}"),
        None => format!("jenkins:{}{}", root.str("source")?, root.str("url")?),
    };
    Ok(Ok(Event::Build(Build {
        id: event_id(&id, "data.build.fullUrl")?,
        repo: RepoName::parse(&repo)
            .map_err(|e| MapError::new(format!("{run}: data.build.scmState.url {e}")))?,
        sha,
        status: Status::new(status.to_ascii_lowercase()),
        branch,
        started_at,
        finished_at,
        provider: Some("jenkins".to_owned()),
    })))
}
