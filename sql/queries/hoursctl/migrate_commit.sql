-- hoursctl migrate: the migration file and its schema_migrations row.
COMMIT
