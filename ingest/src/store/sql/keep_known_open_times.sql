-- A staged incident whose open time is only a stand-in (the source did not say) takes
-- the stored one, so the merge that follows leaves it where it was; a new incident
-- keeps the stand-in until a report that says replaces it.
UPDATE stage_incidents SET opened_at = i.opened_at
FROM incidents i
WHERE i.id = stage_incidents.id AND stage_incidents.opened_at_estimated;
