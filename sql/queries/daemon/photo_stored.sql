-- photo_stored.sql - the photo stored under a photo's identity
-- (docs/protocol.md, "Sent again"): $1 terminal id, $2 photo number.  One
-- row when stored: the SHA-256 of its data (hex), which hoursd compares
-- with the copy's; none when not.
-- columns: sha256
SELECT encode(sha256, 'hex') AS sha256
  FROM photo
 WHERE terminal_id = $1::bigint AND photo_no = $2
