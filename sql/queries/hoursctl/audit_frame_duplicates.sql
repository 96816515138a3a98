-- hoursctl audit verify: a terminal's frame stored as two training
-- records or more (the same raw_sha256), in the range $1-$2 and school
-- $3 (as audit_frame_records.sql).  Only rows whose raw begins as a timing
-- message (0x13) are compared: any other is named as not a frame already.
-- The digests stored twice are found first, and only their rows named
-- (a name for every row, sorted in its group, costs more than the rest).
-- Columns: the digest (hex), how many rows, the rows ("terminal NUMBER
-- record NO", ", " between).
-- columns: raw_sha256, rows (n), string_agg (names)
WITH r AS (
  SELECT r.terminal_id, r.record_no, r.raw_sha256
    FROM training_record r
   WHERE substring(r.raw FROM 1 FOR 1) = '\x13'::bytea
     AND ($1::timestamptz IS NULL OR r.record_time >= $1::timestamptz)
     AND ($2::timestamptz IS NULL OR r.record_time < $2::timestamptz)
     AND ($3::bigint IS NULL
          OR r.terminal_id IN (SELECT id FROM terminal WHERE school_id = $3::bigint))),
d AS (SELECT raw_sha256 FROM r GROUP BY raw_sha256 HAVING count(*) > 1)
SELECT encode(d.raw_sha256, 'hex') AS raw_sha256, count(*) AS rows,
       string_agg('terminal ' || t.phone || ' record ' || r.record_no, ', '
                  ORDER BY t.phone, r.record_no)
  FROM d JOIN r ON r.raw_sha256 = d.raw_sha256
  JOIN terminal t ON t.id = r.terminal_id
 GROUP BY d.raw_sha256
 ORDER BY 3
