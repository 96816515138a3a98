-- A teaching log the platform accepted ($1 = recnum, $2 = packet id, $3 =
-- the body as sent): kept, so that a later attempt does not send it again.
INSERT INTO teaching_log_sent (recnum, packet_id, body) VALUES ($1, $2::uuid, $3)
ON CONFLICT (recnum) DO NOTHING
