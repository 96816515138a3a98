-- checkpoint_batches.sql - chain.c, before it signs: the batches after
-- batch $1 (the newest checkpoint's) up to batch $2 (the log's head as
-- checkpoint_head.sql read it: a batch appended since waits for the next
-- checkpoint), each with its leaves' hashes as
-- stored, the leaves' data of its rows now, from their columns
-- (audit_log_recomputed of migration 025: never a stored leaf hash, in no
-- particular order, compared as a set), its root and link hash (hex).
-- columns: n, size, leaves, recomputed, root, hash
SELECT b.n, b.size, encode(b.leaves, 'hex') AS leaves,
       encode(audit_log_recomputed(b.lo, b.hi), 'hex') AS recomputed,
       encode(b.root, 'hex') AS root, encode(b.hash, 'hex') AS hash
  FROM audit_batch b
 WHERE b.n > $1::bigint AND b.n <= $2::bigint
 ORDER BY b.n
