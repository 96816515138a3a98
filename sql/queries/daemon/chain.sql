-- chain.sql - what the next batch of the audit log takes (src/chain.c), by
-- audit_log_next() of migration 015: the head's batch number and hash, the
-- range [lo, hi) of transactions whose rows it takes, and their leaves'
-- hashes (32 bytes each, in the log's order; NULL: none) in hex.  Read
-- only: chain_append.sql appends the batch on the n read here.
-- columns: n, hash, lo, hi, leaves
SELECT n, encode(hash, 'hex') AS hash, lo, hi, encode(leaves, 'hex') AS leaves
  FROM audit_log_next()
