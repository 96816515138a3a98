-- 010_findings.sql - the notice's violations found in the data (section
-- 二 of the notice: shortened training, forged or tampered timing data,
-- training outside the approved ground, 应装尽装、能用尽用) as views for
-- auditors' own SQL, and what the quarterly joint report with the police
-- needs (docs/audit.md, "Findings").
--
-- The views list every candidate with its measure and no threshold: the
-- thresholds are the configuration's (findings.*), applied by `hoursctl
-- findings` (sql/queries/findings_*.sql) or by the auditor's WHERE.  All
-- times are as stored (timestamptz); training_day() is the UTC+8 date.
-- The views run with the privileges (and row-level security) of the one
-- who queries them (security_invoker): a district auditor sees the
-- findings of its district's schools only.

-- The maker of a terminal, for the per-vendor counts (operators set it:
-- UPDATE terminal SET vendor = ... ; NULL is counted as "unknown").
ALTER TABLE terminal ADD COLUMN vendor text;

-- The subjects (course code digits 4-5) each part must cover, per class:
-- the syllabus's list of items, entered by the authority.  A part met
-- without a record of one of them is a finding (content reduced).
CREATE TABLE syllabus_subject (
	vehicle_class  text NOT NULL,
	part           smallint NOT NULL CHECK (part BETWEEN 1 AND 4),
	subject        smallint NOT NULL CHECK (subject BETWEEN 0 AND 99),
	name           text NOT NULL,
	PRIMARY KEY (vehicle_class, part, subject)
);

-- The police's figures per school and quarter (hoursctl report
-- import-police): the exam pass rate (percent), and the traffic-violation
-- and accident rates of drivers licensed within three years (per 100
-- such drivers).  One row per quarter and school: a new import replaces it.
CREATE TABLE police_figures (
	quarter         text NOT NULL CHECK (quarter ~ '^[0-9]{4}Q[1-4]$'),
	school_id       bigint NOT NULL REFERENCES school,
	pass_rate       numeric(6, 2) NOT NULL CHECK (pass_rate BETWEEN 0 AND 100),
	violation_rate  numeric(8, 2) NOT NULL CHECK (violation_rate BETWEEN 0 AND 10000),
	accident_rate   numeric(8, 2) NOT NULL CHECK (accident_rate BETWEEN 0 AND 10000),
	source          text NOT NULL,            -- the file it came from
	imported_at     timestamptz NOT NULL DEFAULT now(),
	imported_by     text NOT NULL DEFAULT current_user,
	PRIMARY KEY (quarter, school_id)
);

-- Whether a stored 0x0900 body was uploaded late (补传): the extension
-- properties' bit 0 (body offset 4, the low byte of the WORD at 3), or
-- upload type 2 (re-uploaded on the platform's 0x8205).
CREATE FUNCTION reuploaded(raw bytea, upload_type smallint) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT upload_type = 2 OR (length(raw) > 4 AND (get_byte(raw, 4) & 1) = 1) $$;

-- A moment as the terminals and the schools read it: UTC+8, to the second.
CREATE FUNCTION local_time(t timestamptz) RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT to_char(t AT TIME ZONE 'UTC' + interval '8 hours', 'YYYY-MM-DD HH24:MI:SS') $$;

-- The school code of a terminal's school ('' when it has none).
CREATE VIEW terminal_school WITH (security_invoker = true) AS
SELECT t.id AS terminal_id, t.phone, t.terminal_no, coalesce(t.vendor, 'unknown') AS vendor,
       t.status, t.school_id, coalesce(s.code, '') AS school_code
  FROM terminal t LEFT JOIN school s ON s.id = t.school_id;

-- Minutes missing: each closed lesson (an accepted student login and the
-- first accepted logout of that student on that terminal before the
-- student's next login there) with the whole minutes between login and
-- logout and the records stored for it, whatever their verdict.  A lesson
-- whose minutes were all sent has span_minutes = recorded_minutes (the
-- login comes up to a minute before the first record).
CREATE VIEW finding_short_lesson WITH (security_invoker = true) AS
SELECT ts.school_code, ts.phone AS terminal, l.terminal_id, l.person_no AS student_no,
       l.coach_no, l.course_code, l.event_time AS login_at, o.logout_at,
       floor(extract(epoch FROM o.logout_at - l.event_time) / 60)::integer AS span_minutes,
       rc.records AS recorded_minutes,
       floor(extract(epoch FROM o.logout_at - l.event_time) / 60)::integer - rc.records
           AS missing_minutes,
       o.declared_minutes, rc.first_record, rc.last_record
  FROM session_event l
  JOIN terminal_school ts ON ts.terminal_id = l.terminal_id
  CROSS JOIN LATERAL (
	SELECT min(n.event_time) AS next_login FROM session_event n
	 WHERE n.terminal_id = l.terminal_id AND n.kind = 'student_login'
	   AND n.person_no = l.person_no AND n.event_time > l.event_time
	   AND n.verdict = 'accepted') nx
  CROSS JOIN LATERAL (
	SELECT o.event_time AS logout_at, o.minutes AS declared_minutes FROM session_event o
	 WHERE o.terminal_id = l.terminal_id AND o.kind = 'student_logout'
	   AND o.person_no = l.person_no AND o.event_time >= l.event_time
	   AND (nx.next_login IS NULL OR o.event_time < nx.next_login)
	   AND o.verdict = 'accepted'
	 ORDER BY o.event_time LIMIT 1) o
  CROSS JOIN LATERAL (
	SELECT count(*)::integer AS records, min(r.record_no) AS first_record,
	       max(r.record_no) AS last_record
	  FROM training_record r
	 WHERE r.terminal_id = l.terminal_id AND r.session_login_at = l.event_time
	   AND r.student_no = l.person_no) rc
 WHERE l.kind = 'student_login' AND l.verdict = 'accepted';

-- Content reduced: a student's part whose counted minutes reach the
-- syllabus's requirement, and a subject of the part (syllabus_subject)
-- that no counted record's course code names.
CREATE VIEW finding_content_reduced WITH (security_invoker = true) AS
SELECT (SELECT ts.school_code FROM training_record r JOIN terminal_school ts USING (terminal_id)
         WHERE r.student_no = p.student_no ORDER BY r.record_time DESC LIMIT 1) AS school_code,
       p.student_no, p.part, p.vehicle_class, ss.subject, ss.name AS subject_name,
       (SELECT string_agg(DISTINCT substr(v.course_code, 5, 2), ',')
          FROM record_verdict v
         WHERE v.student_no = p.student_no AND v.part = p.part AND v.verdict = 'accepted')
           AS subjects_trained,
       p.first_minute, p.last_minute
  FROM progress p
  JOIN syllabus_part sp ON sp.vehicle_class = p.vehicle_class AND sp.part = p.part
  JOIN syllabus_subject ss ON ss.vehicle_class = p.vehicle_class AND ss.part = p.part
 WHERE part_met(p, sp)
   AND NOT EXISTS (SELECT 1 FROM record_verdict v
                    WHERE v.student_no = p.student_no AND v.part = p.part
                      AND v.verdict = 'accepted'
                      AND substr(v.course_code, 5, 2) = lpad(ss.subject::text, 2, '0'));

-- Forged or tampered data, one row per suspicious record: a signature
-- that failed or is missing, a certificate or terminal number that does
-- not match, a time the server could not believe, a GNSS time away from
-- the record's own (skew_s: seconds, for rules of the auditor's), a
-- record number reused with other bytes (training_record_conflict), and
-- the judge's conflicts: the student or the coach in another vehicle that
-- minute (record_judgement).
CREATE VIEW finding_record_anomaly WITH (security_invoker = true) AS
SELECT ts.school_code, ts.phone AS terminal, ts.vendor, r.terminal_id, r.record_no,
       r.record_time AS at, r.student_no, r.coach_no,
       CASE WHEN r.reason IN ('bad_signature', 'no_signature', 'certificate_expired',
                              'terminal_no_mismatch', 'no_signing_key') THEN 'signature'
            ELSE 'time' END AS class,
       r.reason AS anomaly, NULL::integer AS skew_s
  FROM training_record r JOIN terminal_school ts USING (terminal_id)
 WHERE r.reason IN ('bad_signature', 'no_signature', 'certificate_expired',
                    'terminal_no_mismatch', 'no_signing_key',
                    'record_in_future', 'record_too_old', 'position_jump', 'speed_mismatch')
UNION ALL
SELECT ts.school_code, ts.phone, ts.vendor, r.terminal_id, r.record_no, r.record_time,
       r.student_no, r.coach_no, 'signature', 'unsigned', NULL
  FROM training_record r JOIN terminal_school ts USING (terminal_id)
 WHERE NOT r.signed AND r.reason IS DISTINCT FROM 'no_signature'
UNION ALL
SELECT ts.school_code, ts.phone, ts.vendor, r.terminal_id, r.record_no, r.record_time,
       r.student_no, r.coach_no, 'time', 'gnss_time_skew',
       abs(extract(epoch FROM r.gnss_time - r.record_time))::integer
  FROM training_record r JOIN terminal_school ts USING (terminal_id)
 WHERE r.gnss_time IS NOT NULL AND r.gnss_time <> r.record_time
UNION ALL
SELECT ts.school_code, ts.phone, ts.vendor, c.terminal_id, c.record_no, c.received_at,
       NULL, NULL, 'conflict', 'number_reused', NULL
  FROM training_record_conflict c JOIN terminal_school ts USING (terminal_id)
UNION ALL
SELECT ts.school_code, ts.phone, ts.vendor, j.terminal_id, j.record_no, r.record_time,
       r.student_no, r.coach_no, 'conflict', j.reason, NULL
  FROM record_judgement j
  JOIN training_record r USING (terminal_id, record_no)
  JOIN terminal_school ts USING (terminal_id)
 WHERE j.reason IN ('student_overlap', 'coach_overlap');

-- Off-site: minutes refused for lying outside every approved site of the
-- school (or for a school with no site), per school, coach and day.
CREATE VIEW finding_off_site WITH (security_invoker = true) AS
SELECT ts.school_code, r.coach_no, training_day(r.record_time) AS day,
       count(*)::integer AS minutes, count(DISTINCT r.student_no)::integer AS students,
       min(r.record_time) AS first_minute, max(r.record_time) AS last_minute,
       array_agg(r.record_no ORDER BY r.record_time) AS record_nos
  FROM training_record r JOIN terminal_school ts USING (terminal_id)
 WHERE r.reason IN ('outside_training_site', 'no_training_site')
 GROUP BY ts.school_code, r.coach_no, training_day(r.record_time);

-- A coach in two places: minutes in which one coach has records on two
-- or more terminals (the judge refuses all but one: coach_overlap).
CREATE VIEW finding_coach_two_places WITH (security_invoker = true) AS
SELECT min(ts.school_code) AS school_code, r.coach_no,
       date_trunc('minute', r.record_time) AS minute,
       array_agg(DISTINCT ts.phone) AS terminals,
       array_agg(r.record_no ORDER BY r.record_no) AS record_nos
  FROM training_record r JOIN terminal_school ts USING (terminal_id)
 GROUP BY r.coach_no, date_trunc('minute', r.record_time)
HAVING count(DISTINCT r.terminal_id) > 1;

-- A coach's day: the students and the minutes ingest accepted (more than
-- a coach can teach is a finding: findings.max_students_per_coach_day,
-- findings.max_coach_minutes_per_day).
CREATE VIEW finding_coach_day WITH (security_invoker = true) AS
SELECT min(ts.school_code) AS school_code, r.coach_no, training_day(r.record_time) AS day,
       count(DISTINCT r.student_no)::integer AS students, count(*)::integer AS minutes,
       count(DISTINCT r.terminal_id)::integer AS terminals,
       min(r.record_time) AS first_minute, max(r.record_time) AS last_minute
  FROM training_record r JOIN terminal_school ts USING (terminal_id)
 WHERE r.verdict = 'accepted'
 GROUP BY r.coach_no, training_day(r.record_time);

-- Face-match confidence of every photo (below findings.min_face_confidence
-- is a finding).
CREATE VIEW finding_face_match WITH (security_invoker = true) AS
SELECT ts.school_code, ts.phone AS terminal, p.photo_no, p.person_no, p.class_id,
       p.face_confidence, coalesce(p.taken_at, p.received_at) AS at, p.event
  FROM photo p JOIN terminal_school ts USING (terminal_id);

-- 应装尽装: vehicles of a school without an active terminal.
CREATE VIEW finding_vehicle_without_terminal WITH (security_invoker = true) AS
SELECT s.code AS school_code, v.plate, v.vehicle_class, v.created_at
  FROM vehicle v JOIN school s ON s.id = v.school_id
 WHERE NOT EXISTS (SELECT 1 FROM terminal t WHERE t.vehicle_id = v.id AND t.status = 'active');

-- 能用尽用: when each active terminal was last heard of (a position, a
-- record or a login; NULL: never), and for how many whole days since.
-- By the terminal's own times, which the indexes keep (the newest of a
-- terminal is one index probe each); a time ahead of now counts as now.
CREATE VIEW finding_terminal_last_seen WITH (security_invoker = true) AS
SELECT ts.school_code, ts.phone AS terminal, ts.terminal_no, ts.vendor, x.last_seen,
       floor(extract(epoch FROM now() - least(coalesce(x.last_seen, t.created_at), now()))
             / 86400)::integer AS silent_days
  FROM terminal_school ts JOIN terminal t ON t.id = ts.terminal_id
  CROSS JOIN LATERAL (
	SELECT greatest((SELECT max(p.fix_time) FROM position p WHERE p.terminal_id = t.id),
	                (SELECT max(r.record_time) FROM training_record r
	                  WHERE r.terminal_id = t.id),
	                (SELECT max(e.event_time) FROM session_event e
	                  WHERE e.terminal_id = t.id)) AS last_seen) x
 WHERE ts.status = 'active';

-- Records uploaded in real time against re-uploaded (补传), per school,
-- terminal and day of the record.
CREATE VIEW finding_upload_timeliness WITH (security_invoker = true) AS
SELECT ts.school_code, ts.phone AS terminal, training_day(r.record_time) AS day,
       count(*)::integer AS records,
       count(*) FILTER (WHERE NOT reuploaded(r.raw, r.upload_type))::integer AS realtime,
       count(*) FILTER (WHERE reuploaded(r.raw, r.upload_type))::integer AS reuploaded
  FROM training_record r JOIN terminal_school ts USING (terminal_id)
 GROUP BY ts.school_code, ts.phone, training_day(r.record_time);

-- The audit's roles (009, docs/audit.md): a district auditor reads the
-- police's figures of its district's schools, and the syllabus's subjects.
SELECT audit_scope('police_figures', 'school_id IN (SELECT audit_schools_of(current_user))');
SELECT audit_scope('syllabus_subject', 'true');
