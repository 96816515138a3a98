-- chain.sql - one batch of the audit chain stage (src/chain.c): up to $1
-- rows queued in audit_pending appended to audit_chain, in one statement
-- (one transaction).  The head row is taken FOR UPDATE: one appender at a
-- time across instances, and a statement that waited for the lock reads
-- the head the other one committed (READ COMMITTED re-reads a locked row),
-- so links stay numbered without gaps, each on the one before it.  The
-- queue rows are taken with SKIP LOCKED and deleted here: a row is linked
-- once, whichever instance takes it; a batch that dies rolls back whole.
-- Within a batch the links follow the queue's order (seq).
-- Returns one row: links appended, and the head's number after them.
WITH head AS (
  SELECT n, hash FROM audit_head FOR UPDATE),
p AS (
  DELETE FROM audit_pending
   WHERE seq IN (SELECT seq FROM audit_pending ORDER BY seq LIMIT $1::int FOR UPDATE SKIP LOCKED)
  RETURNING seq, tbl, key, row_sha256),
l AS (
  SELECT head.n + row_number() OVER w AS n, p.tbl, p.key, p.row_sha256,
         audit_hash(head.hash, audit_link_bytes(p.tbl, p.key, p.row_sha256)) OVER w AS hash
    FROM p, head
  WINDOW w AS (ORDER BY p.seq)),
ins AS (
  INSERT INTO audit_chain (n, tbl, key, row_sha256, hash)
  SELECT n, tbl, key, row_sha256, hash FROM l
  RETURNING n),
moved AS (
  UPDATE audit_head h SET n = t.n, hash = t.hash
    FROM (SELECT n, hash FROM l ORDER BY n DESC LIMIT 1) t
  RETURNING h.n)
SELECT (SELECT count(*) FROM ins) AS linked,
       coalesce((SELECT n FROM moved), (SELECT n FROM head)) AS head
