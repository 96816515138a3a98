-- 001_init.sql - reference data, the terminal registry and positions.
--
-- Applied once by `hoursctl migrate` inside a transaction, recorded in
-- schema_migrations.  Later migrations add sessions, minute records,
-- progress and the push outbox; the reference tables here are shaped for
-- them (a school owns sites, coaches, vehicles, terminals and students).

CREATE TABLE school (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code        text NOT NULL UNIQUE,          -- the school's registration code (inscode)
	name        text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE training_site (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	school_id   bigint NOT NULL REFERENCES school,
	name        text NOT NULL,
	kind        text NOT NULL CHECK (kind IN ('field', 'road')),
	created_at  timestamptz NOT NULL DEFAULT now(),
	UNIQUE (school_id, name)
);

CREATE TABLE coach (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	school_id       bigint NOT NULL REFERENCES school,
	coach_no        text NOT NULL UNIQUE,      -- the 16-character national coach number
	id_card_sha256  bytea,                     -- digest only, never the number in clear
	teach_class     text,
	status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
	created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vehicle (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	school_id      bigint NOT NULL REFERENCES school,
	plate          text NOT NULL UNIQUE,
	vehicle_class  text NOT NULL,             -- C1, C2, B2 ...
	created_at     timestamptz NOT NULL DEFAULT now()
);

-- A timing terminal.  phone is the JT/T 808 terminal number with leading
-- zeros removed: a 2013 header (BCD[6]) and a 2019 header (BCD[10]) of the
-- same terminal name the same row.  The certificate's subject CN names the
-- same number; cert_sha256 pins the exact certificate.
CREATE TABLE terminal (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	phone          text NOT NULL UNIQUE CHECK (phone ~ '^[1-9][0-9]{0,19}$|^0$'),
	terminal_no    text UNIQUE,               -- the 16-character timing terminal number
	school_id      bigint REFERENCES school,
	vehicle_id     bigint REFERENCES vehicle,
	cert_pem       text NOT NULL,
	cert_sha256    bytea NOT NULL CHECK (length(cert_sha256) = 32),
	cert_not_after timestamptz NOT NULL,
	auth_code      text NOT NULL,
	status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE student (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	school_id      bigint NOT NULL REFERENCES school,
	student_no     text NOT NULL UNIQUE,      -- the 16-character national student number
	id_card_sha256 bytea,
	vehicle_class  text NOT NULL,
	registered_at  timestamptz NOT NULL DEFAULT now(),
	scheduled_at   timestamptz,
	legacy         boolean NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL DEFAULT now()
);

-- A location report (0x0200, or one item of 0x0704).  One row per terminal
-- and fix time: a resent report is stored once, which makes a batch that
-- is written again after a lost connection harmless.
CREATE TABLE position (
	terminal_id  bigint NOT NULL REFERENCES terminal,
	fix_time     timestamptz NOT NULL,         -- the terminal's GNSS time
	received_at  timestamptz NOT NULL DEFAULT now(),
	lat_e6       integer NOT NULL,             -- degrees x 10^6, negative south
	lon_e6       integer NOT NULL,             -- negative west
	altitude_m   integer NOT NULL,
	speed_dkmh   integer NOT NULL,             -- 0.1 km/h
	direction    integer NOT NULL,
	alarm        bigint NOT NULL,
	status       bigint NOT NULL,
	fix_valid    boolean NOT NULL,
	PRIMARY KEY (terminal_id, fix_time)
);
