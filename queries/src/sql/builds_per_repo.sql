-- Builds and failed builds (status other than `success`, SPEC §5) per repository,
-- finishing in [$1, $2): the services table's build column sums them over each
-- service's repositories.
SELECT repo, count(*), count(*) FILTER (WHERE status <> 'success')
FROM builds
WHERE finished_at >= $1 AND finished_at < $2
GROUP BY repo;
