//! The fictional company: repositories, services, teams, people and the words their
//! commits and pages are made of. Data only; the behaviour lives in the simulation.
//!
//! The specs borrow their text (`'c`) so that the demo's company can be constants and
//! the scale generator's (`scale::org`) can be built at run time from its options.

use crate::rng::Rng;

/// A company the simulation runs: what it has, and where its history starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Company<'c> {
    pub(crate) repos: &'c [RepoSpec<'c>],
    pub(crate) services: &'c [ServiceSpec<'c>],
    /// Services that are paged but never deployed.
    pub(crate) strays: &'c [StraySpec<'c>],
    /// Whether the repositories have history before the window (the first commit seen
    /// names a parent that is never posted) or start in it (a root without parents).
    pub(crate) older_history: bool,
}

/// The demo's company.
pub(crate) const DEMO: Company<'static> = Company {
    repos: REPOS,
    services: SERVICES,
    strays: INCIDENT_ONLY,
    older_history: true,
};

/// A repository and how its team works in it.
#[derive(Debug)]
pub(crate) struct RepoSpec<'c> {
    pub(crate) name: &'c str,
    /// The people of the team that works here.
    pub(crate) authors: &'c [&'c str],
    /// Pull requests merged on a working day, on average.
    pub(crate) merges_per_day: f64,
    /// Share of pull requests squash-merged (the rest get a two-parent merge commit).
    pub(crate) squash_share: f64,
    /// Direct commits to `main` on a working day (chores that skip review).
    pub(crate) chores_per_day: f64,
    /// Median CI run, in minutes.
    pub(crate) build_minutes: f64,
    /// Whether CI also runs on feature branches, not only on `main`.
    pub(crate) branch_builds: bool,
    /// What the code is about; titles and branch names are made from these.
    pub(crate) areas: &'c [&'c str],
}

/// How a service is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deployer {
    /// GitHub Actions deployments: ids `gha-<n>` from one global counter.
    GithubActions,
    /// ArgoCD applications: ids `argo-<app>-<n>`, one counter per application.
    Argo,
}

/// When a service's pipeline looks for something new on `main` to ship.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cadence {
    /// Continuous delivery: this many release slots on a working day, on average.
    Daily { slots: f64 },
    /// A release train: one slot a week, on `weekday` (0 = Monday) from `hour` UTC.
    Weekly { weekday: i64, hour: i64 },
}

/// A deployable service.
#[derive(Debug)]
pub(crate) struct ServiceSpec<'c> {
    pub(crate) name: &'c str,
    pub(crate) team: &'c str,
    /// Index into its company's repositories.
    pub(crate) repo: usize,
    pub(crate) deployer: Deployer,
    pub(crate) cadence: Cadence,
    /// Share of releases that go through staging first.
    pub(crate) staging_share: f64,
    /// Median time on staging before promotion, in minutes.
    pub(crate) soak_minutes: f64,
    /// Median deployment duration, in minutes.
    pub(crate) deploy_minutes: f64,
    /// Share of production attempts that fail (and are retried).
    pub(crate) failed_attempt_share: f64,
    /// Share of production deployments that cause a page.
    pub(crate) incident_share: f64,
    pub(crate) incident_titles: &'c [&'c str],
}

/// A service that is paged but never deployed through Shiplog (a legacy system run by
/// hand); its incidents can only stay unattributed (SPEC §3 rule 4d).
#[derive(Debug)]
pub(crate) struct StraySpec<'c> {
    pub(crate) name: &'c str,
    pub(crate) per_week: f64,
    pub(crate) incident_titles: &'c [&'c str],
}

pub(crate) const REPOS: &[RepoSpec<'static>] = &[
    RepoSpec {
        name: "acme/checkout",
        authors: PAYMENTS_PEOPLE,
        merges_per_day: 2.0,
        squash_share: 0.3,
        chores_per_day: 0.1,
        build_minutes: 9.0,
        branch_builds: true,
        areas: &[
            "cart totals",
            "payment capture",
            "address form",
            "promo codes",
            "order confirmation",
            "tax calculation",
        ],
    },
    RepoSpec {
        name: "acme/payments",
        authors: PAYMENTS_PEOPLE,
        merges_per_day: 1.2,
        squash_share: 0.6,
        chores_per_day: 0.08,
        build_minutes: 14.0,
        branch_builds: true,
        areas: &[
            "card tokenization",
            "refund flow",
            "secure challenge",
            "ledger export",
            "webhook signatures",
            "currency rounding",
        ],
    },
    // A monorepo: storefront-web and storefront-api both ship from it.
    RepoSpec {
        name: "acme/storefront",
        authors: WEB_PEOPLE,
        merges_per_day: 4.0,
        squash_share: 0.8,
        chores_per_day: 0.15,
        build_minutes: 12.0,
        branch_builds: true,
        areas: &[
            "product page",
            "search box",
            "image lazy loading",
            "category API",
            "price badge",
            "mini cart",
            "recommendations endpoint",
        ],
    },
    RepoSpec {
        name: "acme/search",
        authors: DISCOVERY_PEOPLE,
        merges_per_day: 0.8,
        squash_share: 0.5,
        chores_per_day: 0.05,
        build_minutes: 22.0,
        branch_builds: true,
        areas: &[
            "ranking weights",
            "synonym list",
            "index builder",
            "query parser",
            "typo tolerance",
        ],
    },
];

pub(crate) const SERVICES: &[ServiceSpec<'static>] = &[
    ServiceSpec {
        name: "checkout",
        team: "payments",
        repo: 0,
        deployer: Deployer::GithubActions,
        cadence: Cadence::Daily { slots: 3.0 },
        staging_share: 0.9,
        soak_minutes: 20.0,
        deploy_minutes: 8.0,
        failed_attempt_share: 0.04,
        incident_share: 0.05,
        incident_titles: &[
            "checkout error rate elevated",
            "payment capture timeouts",
            "cart totals wrong with promo codes",
            "checkout p99 latency degraded",
        ],
    },
    ServiceSpec {
        name: "payments-api",
        team: "payments",
        repo: 1,
        deployer: Deployer::GithubActions,
        cadence: Cadence::Daily { slots: 1.5 },
        staging_share: 1.0,
        soak_minutes: 30.0,
        deploy_minutes: 10.0,
        failed_attempt_share: 0.05,
        incident_share: 0.06,
        incident_titles: &[
            "card authorisations failing",
            "refund queue backing up",
            "payments-api 5xx spike",
        ],
    },
    ServiceSpec {
        name: "storefront-web",
        team: "web",
        repo: 2,
        deployer: Deployer::Argo,
        cadence: Cadence::Daily { slots: 6.0 },
        staging_share: 0.5,
        soak_minutes: 10.0,
        deploy_minutes: 4.0,
        failed_attempt_share: 0.03,
        incident_share: 0.03,
        incident_titles: &[
            "product images not loading",
            "storefront JS errors spiking",
            "home page slow",
        ],
    },
    ServiceSpec {
        name: "storefront-api",
        team: "web",
        repo: 2,
        deployer: Deployer::Argo,
        cadence: Cadence::Daily { slots: 1.2 },
        staging_share: 0.9,
        soak_minutes: 20.0,
        deploy_minutes: 5.0,
        failed_attempt_share: 0.04,
        incident_share: 0.08,
        incident_titles: &[
            "category API 5xx",
            "price lookups timing out",
            "storefront-api memory leak",
        ],
    },
    // The weekly release train: big batches, long soak, more pages per release.
    ServiceSpec {
        name: "search",
        team: "discovery",
        repo: 3,
        deployer: Deployer::GithubActions,
        cadence: Cadence::Weekly {
            weekday: 3,
            hour: 13,
        },
        staging_share: 1.0,
        soak_minutes: 120.0,
        deploy_minutes: 18.0,
        failed_attempt_share: 0.1,
        incident_share: 0.2,
        incident_titles: &[
            "search results degraded",
            "index build stuck",
            "search latency degraded",
        ],
    },
];

pub(crate) const INCIDENT_ONLY: &[StraySpec<'static>] = &[StraySpec {
    name: "legacy-billing",
    per_week: 0.6,
    incident_titles: &[
        "invoice run failed",
        "billing batch delayed",
        "legacy-billing database CPU high",
    ],
}];

const VERBS: &[&str] = &[
    "add",
    "fix",
    "remove",
    "refactor",
    "speed up",
    "add retries to",
    "log",
    "validate",
    "cache",
    "document",
    "simplify",
    "add metrics for",
    "clean up",
    "feature-flag",
];

/// Messages of the commits after the first on a feature branch.
pub(crate) const FOLLOW_UPS: &[&str] = &[
    "address review comments",
    "fix failing test",
    "tidy up",
    "rename for clarity",
    "add tests",
    "handle empty input",
    "update snapshot",
    "wip",
];

/// Messages of direct commits to `main`.
pub(crate) const CHORES: &[&str] = &[
    "bump dependencies",
    "update CODEOWNERS",
    "fix typo in README",
    "tune alert thresholds",
    "regenerate lockfile",
    "update CI cache key",
];

const PAYMENTS_PEOPLE: &[&str] = &[
    "lena.fischer",
    "omar.haddad",
    "priya.nair",
    "tomas.novak",
    "grace.kim",
];

const WEB_PEOPLE: &[&str] = &[
    "emil.berg",
    "hana.sato",
    "jade.lee",
    "marco.rossi",
    "aisha.bello",
    "noah.schmidt",
];

const DISCOVERY_PEOPLE: &[&str] = &["ines.duarte", "yuki.tanaka", "samir.khan"];

/// A pull request title such as "add retries to payment capture".
pub(crate) fn title(rng: &mut Rng, repo: &RepoSpec<'_>) -> String {
    let verb = rng.pick(VERBS);
    let area = rng.pick(repo.areas);
    format!("{verb} {area}")
}

/// A branch name such as "lena/add-retries-to-payment-capture".
pub(crate) fn branch_name(author: &str, title: &str) -> String {
    let who = author.split('.').next().unwrap_or(author);
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{who}/{slug}")
}

/// `sev1` 10 %, `sev2` 35 %, `sev3` 55 %.
pub(crate) fn severity(rng: &mut Rng) -> &'static str {
    match rng.below(20) {
        0..2 => "sev1",
        2..9 => "sev2",
        _ => "sev3",
    }
}
