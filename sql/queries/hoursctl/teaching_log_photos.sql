-- hoursctl explain --pdf: the bytes of the photos a teaching log names,
-- for its printed edition (src/pdf/teachlog.c): $1 the student number, $2
-- their SHA-256 in hex (text[]).  Photos over 2 MiB are left out (listed
-- by their SHA-256 only), and at most 256 are read.
-- columns: sha256_hex, data
SELECT encode(sha256, 'hex') AS sha256_hex, data
  FROM photo
 WHERE person_no = $1 AND encode(sha256, 'hex') = ANY ($2::text[]) AND size <= 2097152
 ORDER BY taken_at, photo_no
 LIMIT 256
