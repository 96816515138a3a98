-- hoursctl migrate: whether the schema has audit_grants() (migration 009
-- on): one boolean.
-- columns: ?column? (has_grants)
SELECT to_regproc('audit_grants') IS NOT NULL
