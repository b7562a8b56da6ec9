//! The backfill's page walk in process, on the recorded GitHub API answers
//! (tests/fixtures-github-api) served by a fake transport and a store with its real
//! writer: where runs start and stop as the raw log says, a refresh that finds a new
//! deployment, and a run whose last page was stored before.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use shiplog_ingest::backfill::client::{Answer, Observer, Transport};
use shiplog_ingest::backfill::cursor::{self, Mode, Start};
use shiplog_ingest::backfill::{Api, Clock, Kind, Policy, Progress, Target, repository, walk};
use shiplog_ingest::sources::Routing;
use shiplog_ingest::store::{Refresh, Store, Touched, Writer, WriterOptions};
use shiplog_model::{RepoName, Timestamp, parse_timestamp};

const DEPLOYMENTS_1: &str = "/repos/acme/shop/deployments?per_page=100&page=1";
const DEPLOYMENTS_2: &str = "/repos/acme/shop/deployments?per_page=100&page=2";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures-github-api")
}

fn t(raw: &str) -> Timestamp {
    parse_timestamp(raw).unwrap()
}

/// The recorded answers by path and query; a path can be given another body.
struct Recorded {
    answers: Mutex<HashMap<String, Answer>>,
    asked: Mutex<Vec<String>>,
}

impl Recorded {
    fn load() -> Recorded {
        let index: Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join("responses.json")).unwrap(),
        )
        .unwrap();
        let answers = index["responses"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(path, entry)| {
                let answer = Answer {
                    status: entry["status"].as_u64().unwrap() as u16,
                    headers: entry["headers"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                        .collect(),
                    body: std::fs::read_to_string(fixtures().join(entry["body"].as_str().unwrap()))
                        .unwrap(),
                };
                (path.clone(), answer)
            })
            .collect();
        Recorded {
            answers: Mutex::new(answers),
            asked: Mutex::new(Vec::new()),
        }
    }

    fn set_body(&self, path: &str, body: &Value) {
        let mut answers = self.answers.lock().unwrap();
        let mut answer = answers.get(path).cloned().unwrap_or(Answer {
            status: 200,
            ..Answer::default()
        });
        answer.body = body.to_string();
        answers.insert(path.to_owned(), answer);
    }

    fn body(&self, path: &str) -> Value {
        serde_json::from_str(&self.answers.lock().unwrap()[path].body).unwrap()
    }

    fn take_asked(&self) -> Vec<String> {
        std::mem::take(&mut *self.asked.lock().unwrap())
    }
}

impl Transport for &Recorded {
    async fn get(&self, path: &str) -> Result<Answer, String> {
        self.asked.lock().unwrap().push(path.to_owned());
        Ok(self
            .answers
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or(Answer {
                status: 404,
                headers: Default::default(),
                body: r#"{"message":"Not Found"}"#.into(),
            }))
    }
}

struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> Timestamp {
        t("2026-03-12T08:00:00Z")
    }

    async fn sleep(&self, _: Duration) {}
}

struct Quiet;
impl Observer for Quiet {}
impl Progress for Quiet {}

struct NoDerivation;
impl Refresh for NoDerivation {
    fn refresh(
        &mut self,
        _: &duckdb::Connection,
        _: &Touched,
    ) -> Result<(), shiplog_ingest::store::RefreshError> {
        Ok(())
    }
}

struct Db {
    writer: Writer,
    reader: duckdb::Connection,
}

impl Db {
    fn new() -> Db {
        let store = Store::open_in_memory().unwrap();
        let reader = store.reader().unwrap();
        let writer = Writer::spawn(
            store.into_connection(),
            Box::new(NoDerivation),
            WriterOptions::default(),
        )
        .unwrap();
        Db { writer, reader }
    }

    fn count(&self, sql: &str) -> i64 {
        self.reader.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    fn start(&self, target: &Target, kind: Kind) -> Start {
        cursor::start(&self.reader, &target.repo, kind, target.since).unwrap()
    }
}

async fn target(api: &Api<&Recorded, Fixed>) -> Target {
    Target {
        repo: repository(api, "acme/shop", &Quiet).await.unwrap(),
        since: t("2026-03-01T00:00:00Z"),
    }
}

async fn run(
    api: &Api<&Recorded, Fixed>,
    db: &Db,
    target: &Target,
    kind: Kind,
) -> shiplog_ingest::backfill::WalkSummary {
    let start = db.start(target, kind);
    walk(
        api,
        &db.writer,
        &Routing::default(),
        target,
        kind,
        &start,
        &Quiet,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_refresh_stores_a_new_deployment_from_the_first_page_and_stops_there() {
    let recorded = Recorded::load();
    let api = Api::new(&recorded, Fixed, Policy::default());
    let db = Db::new();
    let target = target(&api).await;
    assert_eq!(target.repo, RepoName::parse("acme/shop").unwrap());
    run(&api, &db, &target, Kind::Deployments).await;
    assert_eq!(
        db.start(&target, Kind::Deployments),
        Start::Refresh {
            stop_at: Some(t("2026-03-11T09:00:00Z"))
        },
        "the next run reads down to the newest deployment seen"
    );

    // Deployment 107 is created and succeeds; it is listed first.
    let mut page = recorded.body(DEPLOYMENTS_1);
    let mut newest = page[0].clone();
    newest["id"] = json!(107);
    newest["environment"] = json!("production");
    newest["created_at"] = json!("2026-03-12T07:00:00Z");
    page.as_array_mut().unwrap().insert(0, newest);
    recorded.set_body(DEPLOYMENTS_1, &page);
    // Trimmed to the fields the mapping reads (the full shape is in the fixtures).
    let statuses = json!([{"id": 1, "state": "success", "environment": "production",
        "created_at": "2026-03-12T07:06:00Z", "updated_at": "2026-03-12T07:06:00Z"}]);
    recorded.set_body(
        "/repos/acme/shop/deployments/107/statuses?per_page=100",
        &statuses,
    );
    recorded.take_asked();

    let summary = run(&api, &db, &target, Kind::Deployments).await;
    assert_eq!(summary.mode, Mode::Refresh);
    assert_eq!((summary.pages, summary.new_pages), (1, 1));
    let asked = recorded.take_asked();
    assert!(!asked.contains(&DEPLOYMENTS_2.to_owned()), "{asked:?}");
    assert_eq!(
        db.count("SELECT count(*) FROM deployments WHERE id = 'github:acme/shop:107' AND status = 'success'"),
        1
    );
    assert_eq!(
        db.start(&target, Kind::Deployments),
        Start::Refresh {
            stop_at: Some(t("2026-03-12T07:00:00Z"))
        }
    );
}

#[tokio::test]
async fn a_run_whose_last_page_was_stored_before_still_records_its_end() {
    let recorded = Recorded::load();
    let api = Api::new(&recorded, Fixed, Policy::default());
    let db = Db::new();
    let target = target(&api).await;
    run(&api, &db, &target, Kind::Deployments).await;
    let pages = db.count("SELECT count(*) FROM raw_events WHERE source = 'github-backfill'");

    // As if an earlier run had stopped after page 1: page 2 is read again, and it is
    // a page the raw log already holds.
    let resume = Start::Resume {
        page: 2,
        mode: Mode::Full,
        stop_at: None,
        newest: Some(t("2026-03-11T09:00:00Z")),
    };
    let summary = walk(
        &api,
        &db.writer,
        &Routing::default(),
        &target,
        Kind::Deployments,
        &resume,
        &Quiet,
    )
    .await
    .unwrap();
    assert_eq!((summary.pages, summary.new_pages), (1, 0));
    assert_eq!(
        db.count("SELECT count(*) FROM raw_events WHERE source = 'github-backfill'"),
        pages + 1,
        "one closing record, with no items"
    );
    assert!(matches!(
        db.start(&target, Kind::Deployments),
        Start::Refresh { .. }
    ));
    assert_eq!(
        db.count("SELECT count(*) FROM deployments"),
        4,
        "nothing mapped twice"
    );
}

#[tokio::test]
async fn pull_requests_merged_before_since_end_the_walk_on_their_page() {
    let recorded = Recorded::load();
    let api = Api::new(&recorded, Fixed, Policy::default());
    let db = Db::new();
    let target = target(&api).await;
    let summary = run(&api, &db, &target, Kind::Pulls).await;
    assert_eq!((summary.pages, summary.items, summary.events), (1, 2, 6));
    let asked = recorded.take_asked();
    assert!(
        !asked
            .iter()
            .any(|p| p.contains("/pulls/13/") || p.contains("/pulls/9/")),
        "an unmerged pull request and one merged before since are not asked about: {asked:?}"
    );
    assert_eq!(
        db.count("SELECT count(*) FROM pull_requests WHERE first_commit_at IS NOT NULL"),
        2
    );
}
