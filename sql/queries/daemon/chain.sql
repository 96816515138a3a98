-- chain.sql - what the next batch of the audit log takes (src/chain.c), by
-- audit_log_next() of migration 015: the head's batch number and hash, the
-- range [lo, hi) of transactions whose rows it takes, and their leaves'
-- data in the log's order, each after its length (4 bytes; NULL or empty:
-- none), in hex.  Read only: chain_append.sql appends the batch on the n
-- read here.
-- columns: n, hash, lo, hi, data
SELECT n, encode(hash, 'hex') AS hash, lo, hi, encode(data, 'hex') AS data
  FROM audit_log_next()
