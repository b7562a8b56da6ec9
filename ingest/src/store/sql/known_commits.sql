-- The commits of repo $1 whose parents are stored: a git import need not read them
-- again. A commit known only from a push webhook (no parents) is read again, so
-- the import fills in its place in the graph.
SELECT sha FROM changes WHERE repo = $1 AND parents IS NOT NULL
