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
-- Only the spells that reach into the period count, so each pair's sequence is read
-- from its last green build before the period (from its first build when it has
-- none) to its first green build from the period's end on (to its last when it has
-- none): a spell that starts earlier has ended by then, and one that is red at the
-- end has ended by the first green build after it. A red build tied with one of
-- those green builds and ordered before the first or after the last may look like a
-- spell's start; its spell lies outside the period and adds nothing.
pairs AS MATERIALIZED (
    SELECT row_number() OVER () AS pair, b.repo, b.branch,
           max(b.finished_at) FILTER (WHERE b.status = 'success' AND b.finished_at < p.start) AS since,
           min(b.finished_at) FILTER (WHERE b.status = 'success' AND b.finished_at >= p.stop) AS until,
           bool_or(b.finished_at < p.stop) AS counts
    FROM builds b, period p
    WHERE b.branch IN (SELECT service AS branch FROM main_branches)
      AND (CAST($3 AS BOOLEAN) OR b.repo IN (SELECT service AS repo FROM build_repos))
    GROUP BY b.repo, b.branch
),
-- The outer bounds over every pair, as plain filters the scan prunes with.
reach AS (
    SELECT min(COALESCE(since, '-infinity'::TIMESTAMP)) AS first,
           max(COALESCE(until, 'infinity'::TIMESTAMP)) AS last
    FROM pairs
),
recent AS (
    SELECT c.pair, b.id, b.finished_at, b.status = 'success' AS green
    FROM builds b
    JOIN pairs c ON c.repo = b.repo AND c.branch = b.branch
    WHERE (c.since IS NULL OR b.finished_at >= c.since)
      AND (c.until IS NULL OR b.finished_at <= c.until)
      AND b.finished_at >= (SELECT first FROM reach)
      AND b.finished_at <= (SELECT last FROM reach)
),
-- One pass in pair order: whether the build before succeeded, and the first
-- successful build after it (`first_value … IGNORE NULLS`: a frame minimum with a
-- filter costs DuckDB twice as much here).
marked AS (
    SELECT finished_at, green,
           lag(green) OVER w AS after_green,
           first_value(CASE WHEN green THEN finished_at END IGNORE NULLS)
               OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS next_green
    FROM recent
    WINDOW w AS (PARTITION BY pair ORDER BY finished_at, id)
),
spells AS (
    SELECT s.finished_at AS started,
           s.next_green AS ended,
           s.finished_at >= p.start AND s.finished_at < p.stop AS starts_in_period,
           greatest(0, epoch_us(least(COALESCE(s.next_green, p.stop), p.stop))
                       - epoch_us(greatest(s.finished_at, p.start))) AS red_us
    FROM marked s, period p
    WHERE NOT s.green AND s.after_green IS NOT FALSE
),
spell_figures AS (
    SELECT count(*) FILTER (WHERE starts_in_period) AS red_spells,
           quantile_cont((epoch_us(ended) - epoch_us(started)) / 3600e6, 0.5)
               FILTER (WHERE starts_in_period AND ended IS NOT NULL) AS time_to_green_median_hours,
           -- Summed in whole microseconds, so the total does not depend on row order.
           COALESCE(sum(red_us), 0) / 3600e6 AS red_hours
    FROM spells
)
SELECT f.red_spells, f.time_to_green_median_hours, f.red_hours,
       (SELECT count(*) FROM pairs WHERE counts) AS pairs
FROM spell_figures f;
