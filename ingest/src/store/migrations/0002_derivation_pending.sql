-- Derived facts owed: the services and repositories whose events the writer has
-- committed but whose derived facts it has not yet recomputed. Written in the
-- transaction that stores the events and cleared in the one that recomputes them, so
-- a crash in between leaves the debt on disk for the next start to pay.
CREATE TABLE derivation_pending (
    kind VARCHAR NOT NULL,   -- service | repo
    name VARCHAR NOT NULL
);
