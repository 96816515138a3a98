-- checkpoint_batches.sql - chain.c, before it signs: the batches after
-- batch $1 (the newest checkpoint's), each with its leaves as stored and
-- as computed again from the rows now (audit_log_leaves of 015), its root
-- and link hash (hex).
-- columns: n, size, leaves, recomputed, root, hash
SELECT b.n, b.size, encode(b.leaves, 'hex') AS leaves,
       encode(coalesce((SELECT string_agg(l.leaf, ''::bytea)
                          FROM audit_log_leaves(b.lo, b.hi, false) l), ''::bytea), 'hex') AS recomputed,
       encode(b.root, 'hex') AS root, encode(b.hash, 'hex') AS hash
  FROM audit_batch b
 WHERE b.n > $1::bigint
 ORDER BY b.n
