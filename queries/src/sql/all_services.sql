SELECT service FROM deployments UNION SELECT service FROM incidents;
