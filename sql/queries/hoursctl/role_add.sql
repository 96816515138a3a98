-- hoursctl role add: a login of one kind ($1: hoursd, auditor,
-- district-auditor, liaison; $2 its name; $3 the district of a district
-- auditor, else NULL; $4 a SCRAM verifier of its password, or NULL), by
-- audit_role_add() of migration 009.  One row: whether it was created.
-- columns: audit_role_add
SELECT audit_role_add($1, $2, $3, $4)
