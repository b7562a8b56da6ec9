-- Export: `incident_attribution` (SPEC §3.4), in the month its incident was opened, so
-- that a month joins `incidents` whole. It is derived from the stored incidents; a row
-- whose incident is missing has no month, and the export stops naming the table
-- rather than leave it out.
SELECT a.*, strftime(i.opened_at, '%Y-%m') AS month
FROM incident_attribution a
LEFT JOIN incidents i ON i.id = a.incident_id
