-- What the derivation finds on a deployment's commit graph, kept so that reads need
-- not look it up again in the commits and pull requests at query time.
--
-- A deployment's repository as SPEC §8 resolves it (its `repo`, else the config
-- map's, else the only repository storing its sha; NULL when none does), the one its
-- change set is walked on, and whether its sha is a commit of that repository's
-- stored graph: the data-health checks for repositories no deployment comes from and
-- for deployments of commits no repository stores then read these instead of
-- resolving every deployment again and looking every sha up in `changes`.
ALTER TABLE deploy_facts ADD COLUMN repo VARCHAR;
ALTER TABLE deploy_facts ADD COLUMN sha_in_graph BOOLEAN;

-- Where a lead-time sample's commit comes from: the repository whose graph the
-- deployment's change set was walked on, and the pull request the commit merged or
-- squashed there, if any: its first commit, and when it was opened and merged, each as
-- the pull request says (NULL when it does not, and for the samples of other
-- commits). The lead-time page's stages (coding, review, waiting to deploy) and the
-- explain page's repository and "start" read the samples alone.
--
-- The derivation version that writes these columns recomputes the derived facts of a
-- store written before.
ALTER TABLE lead_time_samples ADD COLUMN repo VARCHAR;
ALTER TABLE lead_time_samples ADD COLUMN pr_first_commit_at TIMESTAMP;
ALTER TABLE lead_time_samples ADD COLUMN pr_opened_at TIMESTAMP;
ALTER TABLE lead_time_samples ADD COLUMN pr_merged_at TIMESTAMP;
