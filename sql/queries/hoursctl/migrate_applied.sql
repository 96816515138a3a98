-- hoursctl migrate: a row when the migration $1 (its file name) was applied.
-- columns: ?column? (applied)
SELECT 1 FROM schema_migrations WHERE name = $1
