-- The files a commit added, modified or removed, when its source lists them (a push
-- does): a monorepo service with `paths` counts only the commits that touch them.
ALTER TABLE changes ADD COLUMN paths VARCHAR[];
