-- What runs where: per service and environment (as sent; NULL reads as production),
-- the newest successful deployment, with its repository resolved as SPEC §8 reads it,
-- and for each pre-production environment how many commits its sha has that the
-- newest production deployment's lacks, on that repository's stored graph (NULL for
-- production, and when either sha is not a commit of the same repository's graph).
-- Derived with the service's other facts, from the graph the derivation loads anyway,
-- so a service's page reads a row instead of walking the whole repository.
CREATE TABLE environment_heads (
    service       VARCHAR NOT NULL,
    environment   VARCHAR,
    production    BOOLEAN NOT NULL,
    deployment_id VARCHAR NOT NULL,
    sha           VARCHAR NOT NULL,
    finished_at   TIMESTAMP NOT NULL,
    repo          VARCHAR,
    commits_ahead INTEGER
);
