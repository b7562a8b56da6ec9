-- Annotations: notes a team leaves on its timeline ("moved to trunk-based
-- development"), drawn on the dashboard's charts and listed in the digest. Neither
-- `service` nor `team`: the whole organisation. They change no derived fact.
CREATE TABLE annotations (
    id       VARCHAR PRIMARY KEY,
    noted_at TIMESTAMP NOT NULL,
    text     VARCHAR NOT NULL,
    service  VARCHAR,
    team     VARCHAR
);
