-- 004_push.sql - what the pusher (src/push.c) keeps with each packet.
--
-- body: the request body as first built and signed (docs/push-contract.md
-- section 5: every attempt carries the same bytes); NULL until the first
-- attempt builds it.  redriven_at / redrive_attempts: set by `hoursctl push
-- retry`; the maximum age counts from the re-drive, and the backoff starts
-- again from push.retry_min_s.
ALTER TABLE push_packet
	ADD COLUMN body text,
	ADD COLUMN redriven_at timestamptz,
	ADD COLUMN redrive_attempts integer NOT NULL DEFAULT 0;

-- The outbox gauges count failed packets every few seconds.
CREATE INDEX push_packet_failed ON push_packet (created_at) WHERE state = 'failed';
