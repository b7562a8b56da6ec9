-- Red spells of SPEC §4.1 for the period [$1, $2), over every repository when $3 is
-- true (no filter), else over the repositories in `build_repos`. Only builds whose
-- branch is one of `main_branches` (exact names) count; a build without a branch or
-- on another branch neither starts nor ends a spell. (Both temp tables name their
-- column `service`: the helper that fills them serves service lists too.)
--   sequence:  the builds of one (repo, main branch) pair, ordered by finished_at,
--              ties by id; success means status `success`, anything else is red;
--   spell:     starts at a red build whose predecessor in the pair succeeded or that
--              has none, ends at the next successful build of the pair (NULL: still
--              red). Spells come from the whole stored history, as SPEC §8 reads
--              derived facts: the period only selects which spells count;
--   red_spells: spells that start in the period (open ones included);
--   time_to_green median: quantile_cont of ended - started in hours over the spells
--              that start in the period and have ended, even after the period (as a
--              failed deployment's recovery may come after it);
--   red_hours: every spell's [started, ended) (open: until the period's end) clipped
--              to the period, summed over the pairs; spells of one pair never overlap;
--   pairs:     (repo, main branch) pairs with a build finished before the period's end.
WITH period AS (
    SELECT CAST($1 AS TIMESTAMP) AS start, CAST($2 AS TIMESTAMP) AS stop
),
main_builds AS MATERIALIZED (
    SELECT b.repo, b.branch, b.id, b.finished_at, b.status = 'success' AS green
    FROM builds b
    WHERE b.branch IN (SELECT service AS branch FROM main_branches)
      AND (CAST($3 AS BOOLEAN) OR b.repo IN (SELECT service AS repo FROM build_repos))
),
-- Only the spells that reach into the period count, so each pair's sequence is read
-- from its last green build before the period on (from its first build when it has
-- none): a spell that starts earlier has ended by then. A red build tied with that
-- green one and ordered before it may look like a spell's start; its spell ends at
-- that green build, before the period, and adds nothing.
recent AS (
    SELECT m.*
    FROM main_builds m
    JOIN (SELECT repo, branch, max(finished_at) FILTER (WHERE green AND finished_at < p.start) AS since
          FROM main_builds, period p
          GROUP BY repo, branch) c
      ON c.repo = m.repo AND c.branch = m.branch
    WHERE c.since IS NULL OR m.finished_at >= c.since
),
-- A pair's builds fall into runs, each opened by a green build (the first run by the
-- pair's first build): `run` counts the green builds up to and including each one. A
-- run's red builds are one spell, from the first of them to the green build that
-- opens the next run.
runs AS (
    SELECT repo, branch, green, finished_at,
           sum(CASE WHEN green THEN 1 ELSE 0 END) OVER (
               PARTITION BY repo, branch ORDER BY finished_at, id
               ROWS UNBOUNDED PRECEDING) AS run
    FROM recent
),
run_bounds AS (
    SELECT repo, branch, run,
           min(finished_at) FILTER (WHERE NOT green) AS red_from,
           min(finished_at) FILTER (WHERE green) AS green_at
    FROM runs
    GROUP BY repo, branch, run
),
spell_bounds AS (
    SELECT red_from AS started,
           lead(green_at) OVER (PARTITION BY repo, branch ORDER BY run) AS ended
    FROM run_bounds
),
spells AS (
    SELECT s.started,
           s.ended,
           s.started >= p.start AND s.started < p.stop AS starts_in_period,
           greatest(0, epoch_us(least(COALESCE(s.ended, p.stop), p.stop))
                       - epoch_us(greatest(s.started, p.start))) AS red_us
    FROM spell_bounds s, period p
    WHERE s.started IS NOT NULL
),
spell_figures AS (
    SELECT count(*) FILTER (WHERE starts_in_period) AS red_spells,
           quantile_cont((epoch_us(ended) - epoch_us(started)) / 3600e6, 0.5)
               FILTER (WHERE starts_in_period AND ended IS NOT NULL) AS time_to_green_median_hours,
           -- Summed in whole microseconds, so the total does not depend on row order.
           COALESCE(sum(red_us), 0) / 3600e6 AS red_hours
    FROM spells
),
pairs AS (
    SELECT count(*) AS pairs
    FROM (SELECT DISTINCT m.repo, m.branch
          FROM main_builds m, period p
          WHERE m.finished_at < p.stop)
)
SELECT f.red_spells, f.time_to_green_median_hours, f.red_hours, p.pairs
FROM spell_figures f, pairs p;
