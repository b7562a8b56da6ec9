-- Why a stored delivery mapped to no typed event (SPEC §6: "stored unmapped with the
-- reason"): the adapter's reason when a webhook delivery brought no event (a
-- repository no service claims, an event type Shiplog does not use); NULL when it
-- brought events, was a sender's test delivery (a GitHub `ping`), or is a typed event.
-- Kept on the raw log rather than in a table of its own so that it lives and dies
-- with the delivery: a replay that maps the delivery clears it, one that still cannot
-- sets the new reason. The data-health page lists the deliveries where it is set.
ALTER TABLE raw_events ADD COLUMN unmapped VARCHAR;
