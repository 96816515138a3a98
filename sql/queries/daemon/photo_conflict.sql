-- photo_conflict.sql - a photo whose number is stored with other data,
-- kept aside (docs/protocol.md, "Sent again"): $1 terminal id, $2 photo
-- number, $3 the data (binary).  Kept once.
INSERT INTO photo_conflict (terminal_id, photo_no, size, sha256, data)
VALUES ($1::bigint, $2, length($3::bytea), sha256($3::bytea), $3::bytea)
ON CONFLICT DO NOTHING
