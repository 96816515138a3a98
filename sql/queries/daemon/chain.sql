-- chain.sql - what the next batch of the audit log takes (src/chain.c), by
-- audit_log_next() of migration 015: the head's batch number and hash, the
-- range [lo, hi) of transactions whose rows it takes, and their leaves'
-- data (audit_log_data of 025: in the order read, a record's stored leaf
-- hash as it is), each after its length (4 bytes; 0x80000020: a leaf hash;
-- NULL or empty: none), in hex.  Read only: chain_append.sql appends the batch on the n
-- read here.
-- columns: n, hash, lo, hi, data
SELECT n, encode(hash, 'hex') AS hash, lo, hi, encode(data, 'hex') AS data
  FROM audit_log_next()
