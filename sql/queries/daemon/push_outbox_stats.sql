-- The outbox gauges, every few seconds (no parameters).  Columns: packets
-- waiting (pending or sending), the oldest one's age in seconds (0: none),
-- failed packets.
-- columns: count (waiting), coalesce (oldest_s), count (failed)
SELECT count(*) FILTER (WHERE state <> 'failed'),
       coalesce(floor(extract(epoch FROM now() - min(created_at)
                              FILTER (WHERE state <> 'failed'))), 0)::bigint,
       count(*) FILTER (WHERE state = 'failed')
  FROM push_packet
 WHERE state IN ('pending', 'sending', 'failed')
