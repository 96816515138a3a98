-- hoursctl migrate: the migration $1 (its file name) is applied, in the
-- transaction that applied it.
INSERT INTO schema_migrations (name) VALUES ($1)
