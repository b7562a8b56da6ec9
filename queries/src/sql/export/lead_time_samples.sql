-- Export: `lead_time_samples` (SPEC §3.2), in the month their deployment finished
-- (UTC): the month the lead-time figures count them in.
SELECT s.*, strftime(s.finished_at, '%Y-%m') AS month
FROM lead_time_samples s
