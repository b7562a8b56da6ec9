-- What runs where for service $1: per environment (as sent; NULL reads as
-- production, SPEC §2), its newest successful deployment (`status` success or absent,
-- SPEC §5), with the deployment's repository read as SPEC §8 does (its `repo`, else
-- $2, the config map's repo, else the only repository storing the sha).
SELECT environment, id, sha, epoch_us(finished_at),
       COALESCE(repo, $2, (SELECT CASE WHEN count(*) = 1 THEN min(c.repo) END
                           FROM changes c WHERE c.sha = d.sha))
FROM (
    SELECT d.*, row_number() OVER (PARTITION BY d.environment ORDER BY d.finished_at DESC, d.id DESC) AS n
    FROM deployments d
    WHERE d.service = $1 AND (d.status IS NULL OR d.status = 'success')
) d
WHERE n = 1
ORDER BY finished_at DESC;
