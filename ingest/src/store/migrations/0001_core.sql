-- Shiplog's core schema: the raw log, the typed tables (SPEC §2) and the derived
-- tables (SPEC §3). Instants are TIMESTAMP in UTC. Append-only: a later change to the
-- schema is a new numbered file, never an edit of this one.

-- Every accepted event or delivery, verbatim, forever. `seq` is the storage order,
-- which settles conflicting values (SPEC §8); `delivery_key` is the dedupe key:
-- the sender's delivery id, or for typed events a hash of the canonical JSON.
CREATE TABLE raw_events (
    delivery_key VARCHAR PRIMARY KEY,
    seq          BIGINT NOT NULL,
    source       VARCHAR NOT NULL,
    event_type   VARCHAR NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    headers      VARCHAR,
    body         VARCHAR NOT NULL
);

CREATE TABLE changes (
    repo         VARCHAR NOT NULL,
    sha          VARCHAR NOT NULL,
    parents      VARCHAR[],
    committed_at TIMESTAMP NOT NULL,
    authored_at  TIMESTAMP,
    author       VARCHAR,
    message      VARCHAR,
    PRIMARY KEY (repo, sha)
);

-- The pull request a change is the merge (or squash) commit of.
CREATE TABLE pull_requests (
    repo            VARCHAR NOT NULL,
    sha             VARCHAR NOT NULL,
    number          BIGINT,
    first_commit_at TIMESTAMP,
    opened_at       TIMESTAMP,
    merged_at       TIMESTAMP,
    PRIMARY KEY (repo, sha)
);

-- `environment` and `status` stay NULL when never sent: NULL reads as
-- `production` and `success` (SPEC §2), and a later event may still name them.
CREATE TABLE deployments (
    id          VARCHAR PRIMARY KEY,
    service     VARCHAR NOT NULL,
    environment VARCHAR,
    repo        VARCHAR,
    sha         VARCHAR NOT NULL,
    status      VARCHAR,
    started_at  TIMESTAMP,
    finished_at TIMESTAMP NOT NULL,
    team        VARCHAR,
    -- TRUE once an explicit `commits` list was sent (possibly empty).
    has_commit_list BOOLEAN
);

-- A deployment's explicit `commits` list, replaced whole when a new list arrives.
CREATE TABLE deployment_commits (
    deployment_id VARCHAR NOT NULL,
    position      INTEGER NOT NULL,
    sha           VARCHAR NOT NULL,
    committed_at  TIMESTAMP
);

CREATE TABLE incidents (
    id            VARCHAR PRIMARY KEY,
    service       VARCHAR NOT NULL,
    opened_at     TIMESTAMP NOT NULL,
    resolved_at   TIMESTAMP,
    severity      VARCHAR,
    deployment_id VARCHAR,
    sha           VARCHAR,
    title         VARCHAR
);

CREATE TABLE builds (
    id          VARCHAR PRIMARY KEY,
    repo        VARCHAR NOT NULL,
    sha         VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,
    branch      VARCHAR,
    started_at  TIMESTAMP,
    finished_at TIMESTAMP NOT NULL,
    provider    VARCHAR
);

-- The settings the derived tables were computed with; a change recomputes them all.
CREATE TABLE derivation_state (fingerprint VARCHAR NOT NULL);

-- Derived tables, rebuilt per service by the writer in the transaction that stored
-- the events touching that service. No keys: rows are replaced by service, and
-- DuckDB checks keys eagerly when a deleted key is inserted again in a transaction.

-- One row per successful production deployment, in service order (SPEC §3).
CREATE TABLE deploy_facts (
    deployment_id   VARCHAR NOT NULL,
    service         VARCHAR NOT NULL,
    sha             VARCHAR NOT NULL,
    finished_at     TIMESTAMP NOT NULL,
    position        INTEGER NOT NULL,      -- 0-based, ordered by (finished_at, id)
    kind            VARCHAR NOT NULL,      -- first | change | rollback | redeploy
    change_set_size INTEGER NOT NULL,
    rolled_back_by  VARCHAR,               -- the rollback that failed this deployment
    rolled_back_at  TIMESTAMP
);

CREATE TABLE change_set_members (
    deployment_id VARCHAR NOT NULL,
    service       VARCHAR NOT NULL,
    sha           VARCHAR NOT NULL
);

CREATE TABLE lead_time_samples (
    deployment_id VARCHAR NOT NULL,
    service       VARCHAR NOT NULL,
    finished_at   TIMESTAMP NOT NULL,
    sha           VARCHAR NOT NULL,
    hours         DOUBLE NOT NULL
);

-- One row per incident: the deployment it is attributed to (SPEC §3.4) and the rule.
CREATE TABLE incident_attribution (
    incident_id   VARCHAR NOT NULL,
    service       VARCHAR NOT NULL,
    deployment_id VARCHAR,
    rule          VARCHAR                 -- a | b | c, NULL when unattributed
);

-- Failure, recovery and rework of each deployment (SPEC §3.5-3.7).
CREATE TABLE deployment_outcomes (
    deployment_id  VARCHAR NOT NULL,
    service        VARCHAR NOT NULL,
    finished_at    TIMESTAMP NOT NULL,
    failed         BOOLEAN NOT NULL,
    failure_cause  VARCHAR,               -- incident | rollback | incident+rollback
    incidents      INTEGER NOT NULL,
    recovered_at   TIMESTAMP,
    rework         BOOLEAN NOT NULL
);
