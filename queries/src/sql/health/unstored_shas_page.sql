-- One page of unstored shas, newest deployment first.
SELECT epoch_us(finished_at), service, deployment_id, sha
FROM rows
ORDER BY finished_at DESC, deployment_id DESC
LIMIT $3 OFFSET $4;
