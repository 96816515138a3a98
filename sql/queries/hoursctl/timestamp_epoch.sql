-- A timestamp as PostgreSQL reads it ($1; without a zone, China time: the
-- session's zone, session_time_zone.sql) in Unix seconds.
-- columns: extract (epoch)
SELECT extract(epoch FROM $1::timestamptz)::bigint
