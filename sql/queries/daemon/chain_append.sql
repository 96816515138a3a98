-- chain_append.sql - a batch of the audit log appended (src/chain.c) by
-- audit_log_append() of migration 015: $1 the head's n read by chain.sql,
-- $2 lo, $3 hi, $4 the number of leaves, $5 the leaves, $6 the tree's root,
-- $7 the link hash (hex).  false: another instance appended meanwhile.
-- columns: appended
SELECT audit_log_append($1::bigint, $2::bigint, $3::bigint, $4::bigint, decode($5, 'hex'),
                        decode($6, 'hex'), decode($7, 'hex')) AS appended
