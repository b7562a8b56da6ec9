-- What the derivation keeps of each service's walks of the commit graph, so that a
-- deployment that comes after every stored one of its service, and commits no walk
-- has reached, extend the derived facts instead of recomputing the service whole
-- (`queries::derive::append`).
--
-- The commits reachable on the stored graph from the service's successful production
-- deployments that are neither one of their heads nor in a change set (the ancestors
-- of its first deployment, the commits a `paths` filter left out, the walks of
-- deployments that list their commits): with the heads and the change sets, every
-- commit the walks reached.
CREATE TABLE walk_reached (
    service VARCHAR NOT NULL,
    sha     VARCHAR NOT NULL
);

-- Commits the service's facts refer to that no stored commit is: a parent not stored
-- (yet), a listed commit, the sha of a deployment whose repository stores no such
-- commit. Storing one changes the facts, so it recomputes the service whole.
CREATE TABLE walk_missing (
    service VARCHAR NOT NULL,
    sha     VARCHAR NOT NULL
);

-- The commit whose ancestors (itself included) are every commit reached from the
-- service's production deployments up to this one, where one commit is: this
-- deployment's sha, or the one before it when it reached nothing new. Pre-production
-- heads are compared with the newest production deployment by walking down to what
-- it reached, which is all the walks reached when its sha is the tip.
ALTER TABLE deploy_facts ADD COLUMN reach_tip VARCHAR;
