-- Export: `environment_heads`, what runs in each service's environments now. A
-- snapshot, not a history: exported whole (no month), rewritten when it changes.
SELECT h.*
FROM environment_heads h
