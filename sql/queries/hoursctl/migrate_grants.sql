-- hoursctl migrate, after every run: the roles' grants on every table,
-- view and sequence, tables of later migrations included (009, docs/audit.md).
-- columns: audit_grants
SELECT audit_grants()
