//! The organisation the scale generator simulates: `svc-0001`… in teams of ten
//! (`team-01`…), each service with its repository `org/svc-0001` except the last two of
//! every full team, which share the monorepo `org/team-01-platform`; one legacy service
//! per fifty that is paged but never deployed. Each pipeline's habits are drawn from the
//! seed around the rates the generator aims at (see `scale`'s module note).
//!
//! Like `catalog`, data only. The names are built first ([`Org`]) and the specs borrow
//! them ([`Specs`]), so that the simulation runs on the same `catalog` types as the demo.

use std::ops::Range;

use crate::catalog::{Cadence, Company, Deployer, RepoSpec, ServiceSpec, StraySpec};
use crate::rng::Rng;
use crate::scale::ScaleOptions;

pub(crate) const SERVICES_PER_TEAM: usize = 10;
/// One never-deployed service per this many services.
const SERVICES_PER_STRAY: usize = 50;
/// One service in this many ships on a weekly train instead of continuously.
const SERVICES_PER_TRAIN: usize = 50;

/// Pull requests merged into a service's code on a working day, on average. With two to
/// six branch commits each, that makes about 27 commits per service per calendar day.
const MERGES_PER_DAY: f64 = 7.3;
const CHORES_PER_DAY: f64 = 0.3;
/// Release slots on a working day: about 2.7 successful production deployments per
/// service per calendar day once slots that find a release under way are skipped.
const SLOTS_PER_DAY: f64 = 9.0;

/// The text every spec borrows.
#[derive(Debug)]
pub(crate) struct Org {
    services: Vec<String>,
    teams: Vec<String>,
    repos: Vec<String>,
    /// The repository each service ships from, by index.
    service_repo: Vec<usize>,
    people: Vec<String>,
    /// Each team's share of `people`.
    team_people: Vec<Range<usize>>,
    strays: Vec<String>,
}

/// The specs of an [`Org`], ready to become a [`Company`].
#[derive(Debug)]
pub(crate) struct Specs<'o> {
    repos: Vec<RepoSpec<'o>>,
    services: Vec<ServiceSpec<'o>>,
    strays: Vec<StraySpec<'o>>,
}

impl Org {
    pub(crate) fn new(options: &ScaleOptions, rng: &mut Rng) -> Self {
        let count = options.services as usize;
        let services: Vec<String> = (1..=count).map(|n| format!("svc-{n:04}")).collect();
        let team_count = count.div_ceil(SERVICES_PER_TEAM);
        let teams: Vec<String> = (1..=team_count).map(|n| format!("team-{n:02}")).collect();

        let mut repos = Vec::new();
        let mut service_repo = Vec::with_capacity(count);
        for (i, service) in services.iter().enumerate() {
            let (team, seat) = (i / SERVICES_PER_TEAM, i % SERVICES_PER_TEAM);
            let full_team = (team + 1) * SERVICES_PER_TEAM <= count;
            if full_team && seat == SERVICES_PER_TEAM - 1 {
                // The monorepo opened by the seat before.
                service_repo.push(repos.len() - 1);
                continue;
            }
            service_repo.push(repos.len());
            if full_team && seat == SERVICES_PER_TEAM - 2 {
                repos.push(format!("org/{}-platform", teams[team]));
            } else {
                repos.push(format!("org/{service}"));
            }
        }

        let mut people = Vec::new();
        let mut team_people = Vec::with_capacity(team_count);
        for _ in 0..team_count {
            let start = people.len();
            for _ in 0..rng.range(5, 9) {
                let n = people.len();
                let first = FIRST_NAMES[n % FIRST_NAMES.len()];
                let last = LAST_NAMES[(n / FIRST_NAMES.len() + n) % LAST_NAMES.len()];
                people.push(format!("{first}.{last}"));
            }
            team_people.push(start..people.len());
        }

        let strays = (1..=count.div_ceil(SERVICES_PER_STRAY))
            .map(|n| format!("legacy-{n:02}"))
            .collect();
        Self {
            services,
            teams,
            repos,
            service_repo,
            people,
            team_people,
            strays,
        }
    }

    /// Everyone's name, in team order: what [`Specs::new`] slices each team's from.
    pub(crate) fn people(&self) -> Vec<&str> {
        self.people.iter().map(String::as_str).collect()
    }
}

impl<'o> Specs<'o> {
    /// Draws every pipeline's habits; `people` is [`Org::people`].
    pub(crate) fn new(org: &'o Org, people: &'o [&'o str], rng: &mut Rng) -> Self {
        let mut services = Vec::with_capacity(org.services.len());
        let mut merges = vec![0.0; org.repos.len()];
        for (i, name) in org.services.iter().enumerate() {
            let repo = org.service_repo[i];
            merges[repo] += MERGES_PER_DAY * between(rng, 0.5, 1.5);
            let train = i % SERVICES_PER_TRAIN == SERVICES_PER_TRAIN / 2;
            services.push(ServiceSpec {
                name,
                team: &org.teams[i / SERVICES_PER_TEAM],
                repo,
                deployer: if rng.chance(0.5) {
                    Deployer::GithubActions
                } else {
                    Deployer::Argo
                },
                cadence: if train {
                    Cadence::Weekly {
                        weekday: rng.range(0, 4),
                        hour: 13,
                    }
                } else {
                    Cadence::Daily {
                        slots: SLOTS_PER_DAY * between(rng, 0.6, 1.4),
                    }
                },
                staging_share: if train { 1.0 } else { between(rng, 0.2, 0.8) },
                soak_minutes: if train {
                    120.0
                } else {
                    between(rng, 5.0, 25.0)
                },
                deploy_minutes: between(rng, 3.0, 10.0),
                failed_attempt_share: between(rng, 0.02, 0.08),
                incident_share: if train { 0.2 } else { between(rng, 0.03, 0.07) },
                incident_titles: window(rng, INCIDENT_TITLES, 4),
            });
        }
        let repos = org
            .repos
            .iter()
            .zip(merges)
            .enumerate()
            .map(|(r, (name, merges_per_day))| {
                let first_service = org.service_repo.partition_point(|&s| s < r);
                let team = first_service / SERVICES_PER_TEAM;
                RepoSpec {
                    name,
                    authors: &people[org.team_people[team].clone()],
                    merges_per_day,
                    squash_share: between(rng, 0.2, 0.9),
                    chores_per_day: CHORES_PER_DAY * between(rng, 0.3, 1.7),
                    build_minutes: between(rng, 5.0, 25.0),
                    // CI on every branch push would double the events without adding
                    // anything the metrics read (build health looks at `main`).
                    branch_builds: false,
                    areas: window(rng, AREAS, 6),
                }
            })
            .collect();
        let strays = org
            .strays
            .iter()
            .map(|name| StraySpec {
                name,
                per_week: 0.6,
                incident_titles: window(rng, LEGACY_TITLES, 3),
            })
            .collect();
        Self {
            repos,
            services,
            strays,
        }
    }

    pub(crate) fn company(&self) -> Company<'_> {
        Company {
            repos: &self.repos,
            services: &self.services,
            strays: &self.strays,
            older_history: false,
        }
    }
}

/// Uniform in `[lo, hi)`.
fn between(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.unit()
}

/// `len` consecutive items from a random place in `pool`.
fn window<'p>(rng: &mut Rng, pool: &'p [&'p str], len: usize) -> &'p [&'p str] {
    let start = rng.below((pool.len() - len + 1) as u64) as usize;
    &pool[start..start + len]
}

const FIRST_NAMES: &[&str] = &[
    "ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hiro", "ivy", "jonas", "kemal", "lucia",
    "mads", "nia", "oskar", "pia", "quinn", "ravi", "sofia", "theo", "uma", "vik", "wen", "ximena",
    "yara", "zane", "amir", "bea", "carlos", "dina",
];

const LAST_NAMES: &[&str] = &[
    "adams",
    "baker",
    "costa",
    "dietrich",
    "evans",
    "ferreira",
    "garcia",
    "horvat",
    "ito",
    "jensen",
    "kowalski",
    "lindqvist",
    "moreau",
    "nakamura",
    "okafor",
    "petrov",
    "quist",
    "ramos",
    "silva",
    "tanaka",
    "ueda",
    "varga",
    "weber",
    "xu",
    "yilmaz",
    "zhou",
    "almeida",
    "brandt",
    "cohen",
    "dubois",
];

const AREAS: &[&str] = &[
    "login form",
    "session cache",
    "rate limiter",
    "billing export",
    "search index",
    "feature flags",
    "audit log",
    "email templates",
    "user settings",
    "report builder",
    "image resizing",
    "order history",
    "inventory sync",
    "pricing rules",
    "notification queue",
    "webhook delivery",
    "CSV import",
    "admin dashboard",
    "API pagination",
    "retry policy",
    "health checks",
    "database migrations",
    "metrics endpoint",
    "tenant isolation",
    "permissions model",
    "file uploads",
    "shipping quotes",
    "tax rules",
    "coupon engine",
    "currency conversion",
    "translation strings",
    "onboarding flow",
    "password reset",
    "GraphQL schema",
    "job scheduler",
    "connection pool",
];

const INCIDENT_TITLES: &[&str] = &[
    "error rate elevated",
    "p99 latency degraded",
    "5xx spike after release",
    "queue backing up",
    "memory leak, pods restarting",
    "database connections exhausted",
    "timeouts calling a dependency",
    "requests failing for some tenants",
    "cache hit rate collapsed",
    "background jobs stuck",
    "CPU saturated",
    "wrong results returned",
];

const LEGACY_TITLES: &[&str] = &[
    "nightly batch failed",
    "batch run delayed",
    "database CPU high",
    "disk almost full",
    "FTP drop missing",
];
