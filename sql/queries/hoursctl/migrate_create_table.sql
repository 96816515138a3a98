-- hoursctl migrate: the table of the migrations applied, made on first use.
CREATE TABLE IF NOT EXISTS schema_migrations (
  name text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now())
