-- Export: what each part of a table holds, to tell the parts that changed since the
-- last export from those that did not. A part is a month of a partitioned table (its
-- `month` column) or a table exported whole (`month` is the constant 'all'). Per
-- part: its rows, and a fingerprint of their exported values, the sum of the rows'
-- hashes as text (a HUGEINT): order-independent, and unlike bit_xor it does not let
-- two equal rows cancel out. `/*columns*/` (the exported columns, then `month`) and
-- `/*view*/` are replaced by the caller with names of its own.
SELECT month, count(*), sum(hash(r))::VARCHAR
FROM (SELECT /*columns*/ FROM /*view*/) r
GROUP BY month
ORDER BY month
