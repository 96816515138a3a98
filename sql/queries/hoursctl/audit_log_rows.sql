-- hoursctl audit verify: the rows of the transactions in [$1, $2) as leaves
-- of the log (audit_log_leaves of migration 015): table, key (jsonb as
-- text), the leaf's data (hex; its hash is SHA-256(0x00 || data)), in the
-- log's order.
-- columns: tbl, key, data
SELECT tbl, key::text AS key, encode(data, 'hex') AS data
  FROM audit_log_leaves($1::bigint, $2::bigint, true)
