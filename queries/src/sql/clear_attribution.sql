DELETE FROM incident_attribution WHERE incident_id IN (SELECT id FROM incidents_to_attribute);
