-- hoursctl audit verify: the leaves' data of the rows of the transactions
-- in [$1, $2) as the chain stage read them for their batch (audit_log_data
-- of migration 015): each leaf's data after its length (4 bytes,
-- big-endian), in the log's order, one value read in the binary format.
-- columns: data
SELECT audit_log_data($1::bigint, $2::bigint) AS data
