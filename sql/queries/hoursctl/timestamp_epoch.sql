-- A timestamp as PostgreSQL reads it ($1, with its zone: 2026-11-30
-- 08:00+08) in Unix seconds.
-- columns: extract (epoch)
SELECT extract(epoch FROM $1::timestamptz)::bigint
