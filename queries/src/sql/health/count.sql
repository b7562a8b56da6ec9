-- How many rows a check lists: the count of the definition before this (its `rows`),
-- which the data-health page shows beside the check, so the count and the list
-- cannot disagree.
SELECT count(*) FROM rows;
