-- 005_timing.sql - real timing terminals (docs/protocol.md, "Transport and
-- identity"): registration that hands out the terminal's certificate,
-- signed authentication on plain TCP, per-terminal device quirks, the
-- timing GNSS block's extra items, and unsigned messages marked as such.

-- What a registering terminal must match, the quirks a device needs, and
-- the newest authentication timestamp taken (a timestamp not newer than
-- it is a replay; the update that takes one is atomic across instances).
ALTER TABLE terminal
	ADD COLUMN imei text CHECK (imei ~ '^[0-9A-Za-z]{1,15}$'),
	ADD COLUMN factory_serial text CHECK (factory_serial ~ '^[ -~]{1,7}$'),
	ADD COLUMN escaped_sums boolean NOT NULL DEFAULT false,
	ADD COLUMN rsa_raw boolean NOT NULL DEFAULT false,
	ADD COLUMN last_auth_ts bigint,
	ADD CONSTRAINT terminal_no_16 CHECK (terminal_no ~ '^[ -~]{16}$');

-- The PKCS#12 the national CA issued for a terminal (its RSA key and
-- certificate) and its password: what the registration answer carries.
-- Secrets: kept apart from the registry so that no grant on terminal
-- reaches them; only the owner (hoursd's role) reads this table.
CREATE TABLE terminal_credential (
	terminal_id  bigint PRIMARY KEY REFERENCES terminal,
	p12          bytea NOT NULL,
	password     text NOT NULL CHECK (password ~ '^[ -~]{0,12}$'),
	created_at   timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON terminal_credential FROM PUBLIC;

-- The timing GNSS block: the satellite speed and the recorder's own, and
-- the extra items when the terminal sent them (NULL when it did not).
-- signed: false for a message that came without a signature, whether it was
-- rejected for it (rules.unsigned: reject) or taken (flag).
ALTER TABLE training_record
	ADD COLUMN gnss_speed_dkmh integer,
	ADD COLUMN recorder_speed_dkmh integer,
	ADD COLUMN gnss_mileage_dkm bigint,
	ADD COLUMN engine_rpm integer,
	ADD COLUMN altitude_m integer,
	ADD COLUMN fuel_dl integer,
	ADD COLUMN signed boolean NOT NULL DEFAULT true;
ALTER TABLE session_event
	ADD COLUMN signed boolean NOT NULL DEFAULT true;

-- Per terminal, what operators chase vendors with: records sent unsigned
-- and records whose signature failed.
CREATE VIEW terminal_signature_stats AS
SELECT t.id AS terminal_id, t.phone, t.terminal_no,
       count(r.record_no) FILTER (WHERE NOT r.signed) AS unsigned,
       count(r.record_no) FILTER (WHERE r.reason = 'bad_signature') AS bad_signature,
       count(r.record_no) AS records
  FROM terminal t LEFT JOIN training_record r ON r.terminal_id = t.id
 GROUP BY t.id;
