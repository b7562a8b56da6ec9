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
main_builds AS (
    SELECT b.repo, b.branch, b.id, b.finished_at, b.status = 'success' AS green
    FROM builds b
    WHERE b.branch IN (SELECT service AS branch FROM main_branches)
      AND (CAST($3 AS BOOLEAN) OR b.repo IN (SELECT service AS repo FROM build_repos))
),
sequenced AS (
    SELECT green,
           finished_at,
           lag(green) OVER (PARTITION BY repo, branch ORDER BY finished_at, id) AS previous_green,
           min(CASE WHEN green THEN finished_at END) OVER (
               PARTITION BY repo, branch ORDER BY finished_at, id
               ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_green_at
    FROM main_builds
),
spells AS (
    SELECT s.finished_at AS started,
           s.next_green_at AS ended,
           s.finished_at >= p.start AND s.finished_at < p.stop AS starts_in_period,
           greatest(0, epoch_us(least(COALESCE(s.next_green_at, p.stop), p.stop))
                       - epoch_us(greatest(s.finished_at, p.start))) AS red_us
    FROM sequenced s, period p
    WHERE NOT s.green AND COALESCE(s.previous_green, true)
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
