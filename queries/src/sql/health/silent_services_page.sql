-- One page of silent services, the most deployed first: the more deployments without
-- an incident, the less likely that none failed.
SELECT service, deployments, epoch_us(last_deployment_at)
FROM rows
ORDER BY deployments DESC, service
LIMIT $1 OFFSET $2;
