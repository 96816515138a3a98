-- 003_rules.sql - what the rules engine needs: training-site polygons, the
-- syllabus's requirements, minute claims (one vehicle per student and per
-- coach per minute), progress per student and part, per day, and the
-- push outbox with every attempt.

-- Training sites: the polygons (with holes) of a school's approved site,
-- as GeoJSON (Polygon or MultiPolygon, WGS-84 longitude/latitude).
ALTER TABLE training_site
	ADD COLUMN geojson jsonb,
	ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();


-- The syllabus as hoursd loaded it (conf/syllabus.yaml), per vehicle class
-- and part: written by hoursd at start and reload, read by auditors and by
-- the batch statement to decide when a part is met.
CREATE TABLE syllabus_part (
	vehicle_class     text NOT NULL,
	part              smallint NOT NULL CHECK (part BETWEEN 1 AND 4),
	required_minutes  integer NOT NULL CHECK (required_minutes > 0),
	-- the most minutes each kind may contribute (NULL: no limit; 0: not allowed)
	max_vehicle       integer,
	max_simulator     integer,
	max_classroom     integer,
	max_remote        integer,
	on_site           boolean NOT NULL,  -- minutes must be inside the school's training site
	max_speed_dkmh    integer,           -- speed limit of the part, 0.1 km/h
	daily_cap_minutes integer,           -- per student and day, all kinds of this part
	syllabus          text NOT NULL,     -- the document it comes from
	loaded_at         timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (vehicle_class, part)
);

-- One row per accepted minute: the student and the coach are in this
-- vehicle in this minute.  The two unique keys refuse a second vehicle for
-- either of them in the same minute, whichever hoursd instance writes it;
-- a record whose claim is refused is stored as rejected (student_overlap
-- or coach_overlap).  A minute over the daily cap keeps its claim: the
-- student was there, the minute just does not count.
CREATE TABLE minute_claim (
	terminal_id  bigint NOT NULL,
	record_no    text NOT NULL,
	student_no   text NOT NULL,
	coach_no     text NOT NULL,
	minute       timestamptz NOT NULL,
	PRIMARY KEY (terminal_id, record_no),
	UNIQUE (student_no, minute),
	UNIQUE (coach_no, minute)
);

-- Minutes per student, cap group and day: the daily cap is checked here.
-- The syllabus caps practice (parts 2 and 3) and theory (parts 1 and 4)
-- per day, each across its parts.
CREATE TABLE progress_day (
	student_no  text NOT NULL,
	cap_group   text NOT NULL CHECK (cap_group IN ('practice', 'theory')),
	day         date NOT NULL,           -- in UTC+8, the terminals' time
	minutes     integer NOT NULL,        -- accepted minutes offered that day, capped or not
	PRIMARY KEY (student_no, cap_group, day)
);

-- Counted minutes per student and part, by kind.  Advanced by atomic
-- increments in the transaction that stores the minutes.
CREATE TABLE progress (
	student_no     text NOT NULL,
	part           smallint NOT NULL,
	vehicle_class  text NOT NULL,
	vehicle        integer NOT NULL DEFAULT 0,
	simulator      integer NOT NULL DEFAULT 0,
	classroom      integer NOT NULL DEFAULT 0,
	remote         integer NOT NULL DEFAULT 0,
	mileage_dkm    bigint NOT NULL DEFAULT 0,
	first_minute   timestamptz,
	last_minute    timestamptz,
	records        integer NOT NULL DEFAULT 0,
	updated_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (student_no, part)
);

-- The push outbox: one packet per student and part, decided once.
CREATE TABLE push_packet (
	id             uuid PRIMARY KEY,         -- the idempotency key the platform sees
	student_no     text NOT NULL,
	part           smallint NOT NULL,
	vehicle_class  text NOT NULL,
	backfilled     boolean NOT NULL DEFAULT false,
	state          text NOT NULL DEFAULT 'pending'
	               CHECK (state IN ('pending', 'sending', 'done', 'failed')),
	created_at     timestamptz NOT NULL DEFAULT now(),
	next_attempt   timestamptz NOT NULL DEFAULT now(),
	attempts       integer NOT NULL DEFAULT 0,
	done_at        timestamptz,
	last_error     text,
	UNIQUE (student_no, part)
);
CREATE INDEX push_packet_due ON push_packet (next_attempt) WHERE state IN ('pending', 'sending');

CREATE TABLE push_attempt (
	packet_id    uuid NOT NULL REFERENCES push_packet,
	attempt      integer NOT NULL,
	started_at   timestamptz NOT NULL,
	latency_ms   integer,
	http_status  integer,
	outcome      text NOT NULL,  -- accepted, duplicate, rejected, retry, error
	answer       text,           -- the platform's answer (cut at 4 KiB)
	PRIMARY KEY (packet_id, attempt)
);
