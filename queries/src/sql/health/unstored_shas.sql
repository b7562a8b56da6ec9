-- Unstored shas: the successful production deployments of `scope` finishing in
-- [$1, $2) whose sha no repository stores (no row of `changes` has it), so that they
-- give no lead time: SPEC §3.1's walk starts at a commit Shiplog does not have, and
-- SPEC §8 counts an unstored commit in a change set without a lead-time sample.
WITH rows AS (
    SELECT f.deployment_id, f.service, f.sha, f.finished_at
    FROM deploy_facts f
    WHERE f.finished_at >= $1 AND f.finished_at < $2
      AND f.service IN (SELECT service FROM scope)
      -- A sha on its repository's graph is stored; the others are looked up.
      AND NOT f.sha_in_graph
      AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.sha = f.sha)
)
