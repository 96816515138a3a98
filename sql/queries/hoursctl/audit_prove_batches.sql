-- hoursctl audit prove: the log's batches $1 to $2 (migration 015), in
-- order, with the link the first one is on (before: the hash of batch
-- $1 - 1, or the old chain's head for batch 1; hex): n, size, the
-- leaves' hashes (hex), root (hex).
-- columns: before, n, size, leaves, root
SELECT encode(CASE WHEN $1::bigint = 1 THEN (SELECT hash FROM audit_head)
                   ELSE (SELECT hash FROM audit_batch WHERE n = $1::bigint - 1) END, 'hex')
         AS before,
       n, size, encode(leaves, 'hex') AS leaves, encode(root, 'hex') AS root
  FROM audit_batch
 WHERE n >= $1::bigint AND n <= $2::bigint
 ORDER BY n
