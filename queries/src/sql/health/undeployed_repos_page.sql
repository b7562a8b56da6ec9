-- One page of undeployed repositories, the most recently committed to first.
SELECT repo, commits, epoch_us(latest_committed_at)
FROM rows
ORDER BY latest_committed_at DESC, repo
LIMIT $1 OFFSET $2;
