-- hoursctl audit verify: a page of the log's batches (migration 015), after
-- batch $1, at most $2: n, the transactions [lo, hi) whose rows it holds,
-- its number of leaves, the leaves' hashes, its root and link hash (hex).
-- columns: n, lo, hi, size, leaves, root, hash
SELECT n, lo, hi, size, encode(leaves, 'hex') AS leaves, encode(root, 'hex') AS root,
       encode(hash, 'hex') AS hash
  FROM audit_batch
 WHERE n > $1::bigint
 ORDER BY n
 LIMIT $2::int
