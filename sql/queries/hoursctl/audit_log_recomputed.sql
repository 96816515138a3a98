-- hoursctl audit verify: the leaves' data of the rows of the transactions
-- in [$1, $2) from their columns now (audit_log_recomputed of migration
-- 025: never a row's stored leaf hash, so that a stored leaf that does not
-- say what its row says is caught), each leaf's data after its length (4
-- bytes, big-endian), in no particular order (compared as a set with the
-- batch's leaves), one value read in the binary format.
-- columns: data
SELECT audit_log_recomputed($1::bigint, $2::bigint) AS data
