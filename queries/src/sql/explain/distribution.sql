-- The distribution of the rows' `hours` (lead-time samples, recovery or restore
-- times): p50, p75 and p90 by quantile_cont, as the figures are, and a histogram in
-- bins that widen with the duration (an hour, a few hours, a day, a week, a month).
bins(i, low, high) AS (
    VALUES (0, '-inf'::DOUBLE, 1.0), (1, 1.0, 4.0), (2, 4.0, 12.0), (3, 12.0, 24.0),
           (4, 24.0, 72.0), (5, 72.0, 168.0), (6, 168.0, 336.0), (7, 336.0, 720.0),
           (8, 720.0, 'inf'::DOUBLE)
),
counted AS (
    SELECT b.i, b.low, b.high, count(r.hours) AS n
    FROM bins b LEFT JOIN rows r ON r.hours >= b.low AND r.hours < b.high
    GROUP BY b.i, b.low, b.high
),
q AS (
    SELECT quantile_cont(hours, [0.5, 0.75, 0.9]) AS qs, count(hours) AS n FROM rows
)
SELECT c.low, c.high, c.n, q.qs[1], q.qs[2], q.qs[3], q.n
FROM counted c CROSS JOIN q
ORDER BY c.i;
