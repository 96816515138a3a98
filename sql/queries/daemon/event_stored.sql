-- event_stored.sql - the login or logout stored under a message's identity
-- (docs/protocol.md, "Sent again"): $1 terminal id, $2 kind (coach_login,
-- coach_logout, student_login, student_logout), $3 its time (seconds since
-- the epoch), $4 the person.  One row when stored: its verdict and the
-- SHA-256 of its bytes (hex), which hoursd compares with the copy's; none
-- when not.
-- columns: verdict, reason, raw_sha256
SELECT verdict, reason, encode(sha256(raw), 'hex') AS raw_sha256
  FROM session_event
 WHERE terminal_id = $1::bigint AND kind = $2 AND event_time = to_timestamp($3::bigint)
   AND person_no = $4
