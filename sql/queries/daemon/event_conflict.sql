-- event_conflict.sql - a login or logout whose identity is stored with
-- other bytes, kept aside (docs/protocol.md, "Sent again"): $1 terminal
-- id, $2 kind, $3 its time (seconds since the epoch), $4 the person, $5
-- the 0x0900 body as received (binary).  Kept once.
INSERT INTO session_event_conflict (terminal_id, kind, event_time, person_no, raw, raw_sha256)
VALUES ($1::bigint, $2, to_timestamp($3::bigint), $4, $5::bytea, sha256($5::bytea))
ON CONFLICT DO NOTHING
