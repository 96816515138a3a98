-- hoursctl audit verify: the rows of the transactions in [$1, $2) as leaves
-- of the log (audit_log_leaves of migration 015): table, key (jsonb as
-- text), the leaf hash (hex), in the log's order.
-- columns: tbl, key, leaf
SELECT tbl, key::text AS key, encode(leaf, 'hex') AS leaf
  FROM audit_log_leaves($1::bigint, $2::bigint, true)
