-- The annotations of a period, [from, to), in time order: notes a team left on its
-- timeline. Which of them a view shows (the organisation's, a team's, a service's)
-- is decided in `annotations.rs`; at most `?` of them, the newest kept.
SELECT id, noted_at, text, service, team
FROM (
    SELECT id, noted_at, text, service, team
    FROM annotations
    WHERE noted_at >= ? AND noted_at < ?
    ORDER BY noted_at DESC, id DESC
    LIMIT ?
)
ORDER BY noted_at, id;
