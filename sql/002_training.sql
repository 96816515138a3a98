-- 002_training.sql - the timing-training business: lessons (coach and
-- student logins and logouts), the minute-by-minute training records and
-- photos.  Everything a terminal sent is kept, accepted or rejected with
-- its reason, with the bytes as received, so that an auditor can check
-- every signature again.

-- The certificate a terminal signs its records with, when it is not the
-- certificate it uses for TLS (NULL: the TLS certificate signs).
ALTER TABLE terminal
	ADD COLUMN sign_cert_pem text,
	ADD COLUMN sign_cert_sha256 bytea CHECK (length(sign_cert_sha256) = 32),
	ADD COLUMN sign_cert_not_after timestamptz,
	ADD CONSTRAINT terminal_sign_cert_complete CHECK (
		(sign_cert_pem IS NULL) = (sign_cert_sha256 IS NULL)
		AND (sign_cert_pem IS NULL) = (sign_cert_not_after IS NULL));

-- Logins and logouts, append-only.  A lesson is a coach login, a student
-- login under that coach on the same terminal, until the logouts (or the
-- session timeout of docs/protocol.md).  The view lesson pairs them.
CREATE TABLE session_event (
	terminal_id  bigint NOT NULL REFERENCES terminal,
	kind         text NOT NULL CHECK (kind IN ('coach_login', 'coach_logout',
	                                           'student_login', 'student_logout')),
	event_time   timestamptz NOT NULL,        -- the terminal's time of the event
	person_no    text NOT NULL,               -- coach or student number
	coach_no     text,                        -- student login: the coach it is under
	class_id     bigint,
	course_code  text,
	minutes      integer,                     -- student logout: minutes of this login
	mileage_dkm  integer,                     -- student logout: 0.1 km
	lat_e6       integer NOT NULL,
	lon_e6       integer NOT NULL,
	fix_valid    boolean NOT NULL,
	verdict      text NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
	reason       text CHECK ((verdict = 'accepted') = (reason IS NULL)),
	ext_serial   integer NOT NULL,
	raw          bytea NOT NULL,              -- the 0x0900 body as received
	received_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (terminal_id, kind, event_time, person_no)
);
CREATE INDEX session_event_recent ON session_event (terminal_id, event_time DESC);

-- One row per training record (学时记录), identified by terminal and record
-- number: a resent record is stored once.
CREATE TABLE training_record (
	terminal_id      bigint NOT NULL REFERENCES terminal,
	record_no        text NOT NULL,
	record_time      timestamptz NOT NULL,
	student_no       text NOT NULL,
	coach_no         text NOT NULL,
	class_id         bigint NOT NULL,
	course_code      text NOT NULL,
	part             smallint NOT NULL,        -- decoded from the course code
	mode             smallint NOT NULL,        -- 1 vehicle, 2 classroom, 3 simulator, 4 remote
	vehicle_class    text NOT NULL,
	upload_type      smallint NOT NULL,
	record_status    smallint NOT NULL,
	max_speed_dkmh   integer NOT NULL,
	mileage_dkm      integer NOT NULL,
	lat_e6           integer NOT NULL,
	lon_e6           integer NOT NULL,
	fix_valid        boolean NOT NULL,
	gnss_time        timestamptz,
	session_login_at timestamptz,              -- the student login it belongs to, if any
	verdict          text NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
	reason           text CHECK ((verdict = 'accepted') = (reason IS NULL)),
	raw              bytea NOT NULL,           -- the 0x0900 body as received
	raw_sha256       bytea NOT NULL,
	received_at      timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (terminal_id, record_no)
);
CREATE INDEX training_record_student ON training_record (student_no, record_time);
CREATE INDEX training_record_terminal_time ON training_record (terminal_id, record_time);

-- A different record that reused a record number already stored: kept,
-- never counted, answered with failure.
CREATE TABLE training_record_conflict (
	terminal_id  bigint NOT NULL REFERENCES terminal,
	record_no    text NOT NULL,
	raw          bytea NOT NULL,
	raw_sha256   bytea NOT NULL,
	received_at  timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (terminal_id, record_no, raw_sha256)
);

-- A photo, stored once it is complete and its size matches the announced one.
CREATE TABLE photo (
	terminal_id     bigint NOT NULL REFERENCES terminal,
	photo_no        text NOT NULL,
	person_no       text NOT NULL,
	class_id        bigint NOT NULL,
	upload_mode     smallint NOT NULL,
	channel         smallint NOT NULL,
	size_code       smallint NOT NULL,
	event           smallint NOT NULL,
	face_confidence smallint NOT NULL,
	taken_at        timestamptz,               -- GNSS time of the photo-init message
	lat_e6          integer NOT NULL,
	lon_e6          integer NOT NULL,
	size            integer NOT NULL,
	sha256          bytea NOT NULL,
	data            bytea NOT NULL,
	received_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (terminal_id, photo_no)
);

-- Lessons as auditors read them: each accepted student login with the
-- matching logout, if any, and the minutes it collected.
CREATE VIEW lesson AS
SELECT l.terminal_id, l.person_no AS student_no, l.coach_no, l.class_id, l.course_code,
       l.event_time AS login_at,
       (SELECT min(o.event_time) FROM session_event o
         WHERE o.terminal_id = l.terminal_id AND o.kind = 'student_logout'
           AND o.person_no = l.person_no AND o.event_time >= l.event_time
           AND o.verdict = 'accepted') AS logout_at,
       (SELECT count(*) FROM training_record r
         WHERE r.terminal_id = l.terminal_id AND r.session_login_at = l.event_time
           AND r.student_no = l.person_no AND r.verdict = 'accepted') AS accepted_minutes
  FROM session_event l
 WHERE l.kind = 'student_login' AND l.verdict = 'accepted';
