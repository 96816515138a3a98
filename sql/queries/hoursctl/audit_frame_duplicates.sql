-- hoursctl audit verify: a terminal's frame stored as two training
-- records or more (the same raw_sha256), in the range $1-$2 and school
-- $3 (as audit_frame_records.sql).  Only rows whose raw begins as a timing
-- message (0x13) are compared: any other is named as not a frame already.
-- Columns: the digest (hex), how many rows, the rows ("terminal NUMBER
-- record NO", ", " between).
-- columns: raw_sha256, rows (n), string_agg (names)
SELECT encode(r.raw_sha256, 'hex') AS raw_sha256, count(*) AS rows,
       string_agg('terminal ' || t.phone || ' record ' || r.record_no, ', '
                  ORDER BY t.phone, r.record_no)
  FROM training_record r JOIN terminal t ON t.id = r.terminal_id
 WHERE substring(r.raw FROM 1 FOR 1) = '\x13'::bytea
   AND ($1::timestamptz IS NULL OR r.record_time >= $1::timestamptz)
   AND ($2::timestamptz IS NULL OR r.record_time < $2::timestamptz)
   AND ($3::bigint IS NULL OR t.school_id = $3::bigint)
 GROUP BY r.raw_sha256
HAVING count(*) > 1
 ORDER BY 3
