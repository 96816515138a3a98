-- hoursctl audit verify: every chained row against its link (or its queue
-- entry), by audit_check_rows() of migration 009: changed, deleted,
-- inserted behind the chain.  $1, $2: the time range (NULL: open), $3:
-- the school's id (NULL: every school).  Columns: table, key, problem.
-- columns: tbl, key, problem
SELECT tbl, key::text, problem
  FROM audit_check_rows($1::timestamptz, $2::timestamptz, $3::bigint)
