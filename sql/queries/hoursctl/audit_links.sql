-- hoursctl audit verify: the chain's links after link $1, in order, a page
-- of at most $2.  Columns: n, table, key (jsonb text), row digest (hex),
-- hash (hex).
-- columns: n, tbl, key, encode (row_sha256), encode (hash)
SELECT n, tbl, key::text, encode(row_sha256, 'hex'), encode(hash, 'hex')
  FROM audit_chain
 WHERE n > $1::bigint
 ORDER BY n
 LIMIT $2::int
