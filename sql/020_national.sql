-- 020_national.sql - the national interface as the platforms implement it
-- (docs/push-contract.md, "The national profile"): each answer's
-- errorcode kept with the attempt (errorcode 1 is retried a bounded number
-- of times), and the schools' electronic seals that sign esignature.

-- The national platform's errorcode of an attempt's answer (NULL: none,
-- or the project's own contract).  The pusher counts the answers of 1
-- since the last re-drive (push.national_failed_max).
ALTER TABLE push_attempt ADD COLUMN errorcode integer;

-- A school's electronic seal (电子印章): the key and certificate of the
-- PKCS#12 given to `hoursctl school seal`, the key as unencrypted PKCS#8
-- PEM.  esignature of the stage hours is made with it.  Readable by
-- hoursd's role only (audit_secret: no auditor, no liaison).
CREATE TABLE school_seal (
	school_id  bigint PRIMARY KEY REFERENCES school,
	cert_pem   text NOT NULL,
	key_pem    text NOT NULL,
	serial     text NOT NULL,          -- upper-case hex, no padding
	not_after  timestamptz NOT NULL,
	sealed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_secret (tbl, col, why) VALUES
	('school_seal', NULL, 'the schools'' seal keys');

-- The stage review (push.national_review): fetched once the packet is
-- accepted, then again on a back-off schedule until it is final (errorcode
-- 0 with a valid), and at once when the platform's reviewmsg notice names
-- the student's subject.  review_due: when the next fetch is due (NULL:
-- none); review_fetches: fetches made.
ALTER TABLE push_packet
	ADD COLUMN review_due      timestamptz,
	ADD COLUMN review_fetches  integer NOT NULL DEFAULT 0;
CREATE INDEX push_packet_review_due ON push_packet (review_due) WHERE review_due IS NOT NULL;
ALTER TABLE push_review ADD COLUMN final boolean NOT NULL DEFAULT false;

-- The teaching logs (电子教学日志, POST /classrecord) the platform accepted,
-- one per lesson: sent before the stage hours of the lesson's part, each
-- once (a retry sends only those not here); recnum is what recarray of
-- parts 1 and 4 names.  body: as sent.
CREATE TABLE teaching_log_sent (
	recnum     text PRIMARY KEY,
	packet_id  uuid NOT NULL REFERENCES push_packet,
	body       text NOT NULL,
	sent_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_liaison_table VALUES ('teaching_log_sent');
