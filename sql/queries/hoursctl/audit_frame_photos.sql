-- hoursctl audit verify: the photos of the time range $1-$2 (received_at;
-- NULL: open) and school $3 (NULL: every school), read through a cursor
-- (evidence.c) in the binary format: the stored size and digest against
-- the stored bytes.
-- columns: terminal_id, photo_no, size, sha256, data
SELECT p.terminal_id, p.photo_no, p.size, p.sha256, p.data
  FROM photo p
 WHERE ($1::timestamptz IS NULL OR p.received_at >= $1::timestamptz)
   AND ($2::timestamptz IS NULL OR p.received_at < $2::timestamptz)
   AND ($3::bigint IS NULL
        OR p.terminal_id IN (SELECT id FROM terminal WHERE school_id = $3::bigint))
