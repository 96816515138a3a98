-- hoursctl push show: every attempt of a packet ($1 = packet id).
-- Columns: attempt, started, HTTP status ('-'), latency in ms ('-'),
-- outcome, answer ('-').
-- columns: attempt, to_char (started), coalesce (http_status),
--   coalesce (latency_ms), outcome, coalesce (answer)
SELECT attempt, to_char(started_at, 'YYYY-MM-DD HH24:MI:SS.MSOF'),
       coalesce(http_status::text, '-'), coalesce(latency_ms::text, '-'), outcome,
       coalesce(answer, '-')
  FROM push_attempt
 WHERE packet_id = $1::uuid
 ORDER BY attempt
