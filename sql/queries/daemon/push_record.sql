-- One attempt is over: its push_attempt row, and what becomes of the
-- packet, guarded by the attempt number so that an instance whose lease
-- ran out changes nothing.  $1 = packet id, $2 = attempt, $3 = started
-- (Unix seconds), $4 = latency in ms, $5 = HTTP status (NULL: no answer),
-- $6 = outcome, $7 = answer (NULL: none), $8 = done, failed or retry, $9 =
-- seconds to the next attempt, $10 = the maximum age in seconds, $11 = the
-- error (NULL: none).  A retry past the maximum age is failed, and no
-- retry is due after the deadline.  Columns: the packet's state and last
-- error; no row when the lease had passed.
-- columns: state, last_error
WITH a AS (
  INSERT INTO push_attempt (packet_id, attempt, started_at, latency_ms,
                            http_status, outcome, answer, errorcode)
  VALUES ($1::uuid, $2::int, to_timestamp($3::float8), $4::int, $5::int, $6, $7, $12::int)
  ON CONFLICT DO NOTHING),
p AS (
  SELECT id, coalesce(redriven_at, created_at) + make_interval(secs => $10::int) AS deadline
    FROM push_packet
   WHERE id = $1::uuid)
UPDATE push_packet k SET
  state = CASE WHEN $8 <> 'retry' THEN $8
               WHEN now() >= p.deadline THEN 'failed'
               ELSE 'pending' END,
  next_attempt = CASE WHEN $8 = 'retry'
                      THEN least(now() + make_interval(secs => $9::float8), p.deadline)
                      ELSE k.next_attempt END,
  done_at = CASE WHEN $8 = 'done' THEN now() END,
  last_error = CASE WHEN $8 = 'done' THEN NULL
                    WHEN $8 = 'retry' AND now() >= p.deadline
                    THEN 'expired after ' || k.attempts || ' attempts: ' || $11
                    ELSE $11 END
  FROM p
 WHERE k.id = p.id AND k.attempts = $2::int AND k.state = 'sending'
RETURNING k.state, k.last_error
