-- 028_national_lesson.sql - the national interface, what was left
-- (docs/push-contract.md, "The national profile"): the teaching log of a
-- lesson (POST /classrecord) sent when the lesson closes, through the
-- upward queue (023), exactly once; and a student's change after
-- enrolment sent again (/student), as the public code does.

-- A lesson's teaching log is an upward item: ref the terminal, person_no
-- the student, lesson_at the student's login (the lesson's identity, as
-- training_record.session_login_at names it).  Queued once per lesson.
ALTER TABLE upward_item DROP CONSTRAINT upward_item_kind_check;
ALTER TABLE upward_item ADD CONSTRAINT upward_item_kind_check
	CHECK (kind IN ('institution', 'coach', 'trainingcar', 'device', 'devassign',
	                'devRembinding', 'student', 'classrecord', 'stuimg', 'trainimginfo',
	                'region'));
-- A lesson's photo goes up twice: its file (stuimg: POST /imageup/stuimg,
-- the answer's data.id kept as platform_no) before the teaching log, whose
-- photo1..3 name those ids, and its record (trainimginfo, fileid that id)
-- after it; photo_no names the photo (with ref, the terminal).
ALTER TABLE upward_item
	ADD COLUMN person_no text,
	ADD COLUMN lesson_at timestamptz,
	ADD COLUMN photo_no text;
CREATE UNIQUE INDEX upward_item_photo ON upward_item (kind, ref, photo_no)
	WHERE kind IN ('stuimg', 'trainimginfo');
CREATE UNIQUE INDEX upward_item_lesson ON upward_item (ref, person_no, lesson_at)
	WHERE kind = 'classrecord';

-- A teaching log sent by the upward queue has no packet: upward_id names
-- its item instead.
ALTER TABLE teaching_log_sent ALTER COLUMN packet_id DROP NOT NULL,
	ADD COLUMN upward_id bigint REFERENCES upward_item,
	ADD CONSTRAINT teaching_log_sent_by CHECK (packet_id IS NOT NULL OR upward_id IS NOT NULL);

-- The teaching log's number (recnum): the terminal's number and the
-- lesson's start (the student's login, else its first minute), yyMMddHHmm
-- in UTC+8.  teaching_log.sql names the same number.
CREATE FUNCTION classrecord_recnum(t bigint, at timestamptz) RETURNS text
	LANGUAGE sql STABLE AS $$
	SELECT coalesce(te.terminal_no, te.phone) || to_char(local_clock(at), 'YYMMDDHH24MI')
	  FROM terminal te WHERE te.id = t $$;

-- The 22 members of a lesson's /classrecord (PROTOCOL.md), from its
-- counted records (record_verdict accepted), typed as
-- national_classrecord_body() types them for the stage hours' path:
-- numbers for the minutes, photo ids (0: none), mileage and the mean
-- speed (km, km/h, one decimal).  NULL when the lesson counted no minute.
-- inscode: the terminal's school, else the student's; carnum: the vehicle
-- bound to the terminal at the lesson's first minute (its national
-- number, else its plate; "" when none).
CREATE FUNCTION classrecord_members(t bigint, at timestamptz, stu text) RETURNS jsonb
	LANGUAGE sql STABLE AS $$
	WITH l AS (
	  SELECT min(r.coach_no) AS coach_no, min(r.course_code) AS course_code,
	         min(r.record_time) AS first, max(r.record_time) AS last, count(*) AS minutes,
	         coalesce(sum(r.mileage_dkm), 0) AS dkm,
	         count(*) FILTER (WHERE r.part = 1) AS p1, count(*) FILTER (WHERE r.part = 2) AS p2,
	         count(*) FILTER (WHERE r.part = 3) AS p3, count(*) FILTER (WHERE r.part = 4) AS p4
	    FROM record_verdict r
	   WHERE r.terminal_id = t AND r.session_login_at = at AND r.student_no = stu
	     AND r.verdict = 'accepted'
	  HAVING count(*) > 0)
	SELECT jsonb_build_object(
	  'inscode', coalesce((SELECT s.code FROM school s WHERE s.id = te.school_id),
	                      (SELECT s.code FROM student st JOIN school s ON s.id = st.school_id
	                        WHERE st.student_no = stu), ''),
	  'stunum', stu, 'coachnum', l.coach_no,
	  'carnum', coalesce((SELECT coalesce(v.vehicle_no, v.plate)
	                        FROM terminal_binding b JOIN vehicle v ON v.id = b.vehicle_id
	                       WHERE b.terminal_id = t AND b.bound_at <= l.first
	                         AND (b.unbound_at IS NULL OR b.unbound_at > l.first)
	                       ORDER BY b.bound_at DESC LIMIT 1), ''),
	  'simunum', te.phone, 'platnum', coalesce(te.terminal_no, te.phone),
	  'recnum', classrecord_recnum(t, at), 'subjcode', coalesce(l.course_code, ''),
	  -- the lesson's photos uploaded before (stuimg): the first, the
	  -- second (else the first) and the last, as the public test tool
	  -- fills them; 0 when none
	  'photo1', coalesce(ph.ids[1], 0), 'photo2', coalesce(ph.ids[2], ph.ids[1], 0),
	  'photo3', coalesce(ph.ids[cardinality(ph.ids)], 0),
	  'starttime', to_char(local_clock(l.first), 'YYYYMMDDHH24MISS'),
	  'endtime', to_char(local_clock(l.last) + interval '1 minute', 'YYYYMMDDHH24MISS'),
	  'duration', l.minutes, 'total', l.minutes,
	  'mileage', round(l.dkm / 10.0, 1),
	  'avevelocity', round(l.dkm * 6.0 / greatest(l.minutes, 1), 1),
	  'coacmt', '', 'part1', l.p1, 'part2', l.p2, 'part3', l.p3, 'part4', l.p4)
	  FROM l, terminal te,
	       LATERAL (SELECT array_agg(u.platform_no::bigint ORDER BY u.id) AS ids
	                  FROM upward_item u
	                 WHERE u.kind = 'stuimg' AND u.state = 'done' AND u.ref = t
	                   AND u.person_no = stu AND u.lesson_at = at
	                   AND u.platform_no ~ '^[0-9]{1,18}$') ph
	 WHERE te.id = t $$;

-- A closed lesson's items, once: its photos' files (stuimg, in the order
-- taken), its teaching log (classrecord), its photos' records
-- (trainimginfo).  The photos are the student's of that lesson on that
-- terminal (photo.class_id the login's class, else taken between the
-- login and the close).
CREATE FUNCTION upward_lesson_photos(t bigint, stu text, at timestamptz, cls bigint,
                                     closed timestamptz)
	RETURNS TABLE (photo_no text, taken timestamptz) LANGUAGE sql STABLE AS $$
	SELECT ph.photo_no, coalesce(ph.taken_at, ph.received_at) FROM photo ph
	 WHERE ph.terminal_id = t AND ph.person_no = stu
	   AND CASE WHEN cls IS NOT NULL THEN ph.class_id = cls
	            ELSE coalesce(ph.taken_at, ph.received_at) BETWEEN at AND closed END $$;

CREATE FUNCTION upward_lesson(t bigint, stu text, at timestamptz, cls bigint,
                              closed timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM upward_item u WHERE u.kind = 'classrecord' AND u.ref = t
	            AND u.person_no = stu AND u.lesson_at = at) THEN
		RETURN;
	END IF;
	INSERT INTO upward_item (kind, method, ref, person_no, lesson_at, photo_no)
	SELECT 'stuimg', 'POST', t, stu, at, p.photo_no FROM upward_lesson_photos(t, stu, at, cls, closed) p
	ORDER BY p.taken, p.photo_no
	ON CONFLICT DO NOTHING;
	INSERT INTO upward_item (kind, method, ref, person_no, lesson_at)
	VALUES ('classrecord', 'POST', t, stu, at)
	ON CONFLICT DO NOTHING;
	INSERT INTO upward_item (kind, method, ref, person_no, lesson_at, photo_no)
	SELECT 'trainimginfo', 'POST', t, stu, at, p.photo_no FROM upward_lesson_photos(t, stu, at, cls, closed) p
	ORDER BY p.taken, p.photo_no
	ON CONFLICT DO NOTHING;
END $$;

-- A lesson closes with the student's logout (its last login on that
-- terminal before), or with the coach's (every student login under that
-- coach since the coach's last login, not closed by the student's own
-- logout): its items are queued then, once.
CREATE FUNCTION upward_lesson_closed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE l record;
BEGIN
	IF NEW.verdict <> 'accepted' THEN
		RETURN NULL;
	END IF;
	FOR l IN
		SELECT s.person_no, s.event_time, s.class_id FROM session_event s
		 WHERE NEW.kind = 'student_logout'
		   AND s.terminal_id = NEW.terminal_id AND s.kind = 'student_login'
		   AND s.person_no = NEW.person_no AND s.verdict = 'accepted'
		   AND s.event_time <= NEW.event_time
		   AND s.event_time = (SELECT max(x.event_time) FROM session_event x
		                        WHERE x.terminal_id = NEW.terminal_id
		                          AND x.kind = 'student_login' AND x.person_no = NEW.person_no
		                          AND x.verdict = 'accepted' AND x.event_time <= NEW.event_time)
		UNION ALL
		SELECT s.person_no, s.event_time, s.class_id FROM session_event s
		 WHERE NEW.kind = 'coach_logout'
		   AND s.terminal_id = NEW.terminal_id AND s.kind = 'student_login'
		   AND s.coach_no = NEW.person_no AND s.verdict = 'accepted'
		   AND s.event_time <= NEW.event_time
		   AND s.event_time >= coalesce(
		         (SELECT max(c.event_time) FROM session_event c
		           WHERE c.terminal_id = NEW.terminal_id AND c.kind = 'coach_login'
		             AND c.person_no = NEW.person_no AND c.verdict = 'accepted'
		             AND c.event_time <= NEW.event_time), '-infinity')
		   AND NOT EXISTS (SELECT 1 FROM session_event o
		                    WHERE o.terminal_id = s.terminal_id AND o.kind = 'student_logout'
		                      AND o.person_no = s.person_no AND o.verdict = 'accepted'
		                      AND o.event_time >= s.event_time
		                      AND o.event_time <= NEW.event_time)
		ORDER BY 2
	LOOP
		PERFORM upward_lesson(NEW.terminal_id, l.person_no, l.event_time, l.class_id,
		                      NEW.event_time);
	END LOOP;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_lesson_closed AFTER INSERT ON session_event
	FOR EACH ROW EXECUTE FUNCTION upward_lesson_closed();

-- The members of a lesson's photo: stuimg, the file (hex, the pusher
-- uploads its bytes) and its number; trainimginfo, the 8 members of
-- PROTOCOL.md, fileid the id the upload of that photo was answered
-- (NULL while it has none: the upload failed).  ptime yyyyMMddHHmmss
-- (UTC+8), coachnum and subjcode the lesson's records' (as the teaching
-- log's), else the login's.
CREATE FUNCTION upward_photo_members(u upward_item) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT CASE u.kind
	WHEN 'stuimg' THEN jsonb_build_object('photo_no', ph.photo_no,
	                                      'file', encode(ph.data, 'hex'))
	ELSE (
		SELECT jsonb_build_object(
		  'inscode', coalesce((SELECT s.code FROM school s WHERE s.id = te.school_id),
		                      (SELECT s.code FROM student st JOIN school s ON s.id = st.school_id
		                        WHERE st.student_no = u.person_no), ''),
		  'stunum', u.person_no, 'coachnum', coalesce(r.coach_no, l.coach_no, ''),
		  'subjcode', coalesce(r.course_code, l.course_code, ''),
		  'platnum', coalesce(te.terminal_no, te.phone),
		  'recnum', classrecord_recnum(u.ref, u.lesson_at),
		  'ptime', to_char(local_clock(coalesce(ph.taken_at, ph.received_at)),
		                   'YYYYMMDDHH24MISS'),
		  'fileid', f.platform_no::bigint)
		  FROM terminal te
		  LEFT JOIN session_event l ON l.terminal_id = u.ref AND l.kind = 'student_login'
		       AND l.event_time = u.lesson_at AND l.person_no = u.person_no
		  LEFT JOIN LATERAL (
		       SELECT min(t.coach_no) AS coach_no, min(t.course_code) AS course_code
		         FROM training_record t
		        WHERE t.terminal_id = u.ref AND t.session_login_at = u.lesson_at
		          AND t.student_no = u.person_no) r ON true
		  JOIN upward_item f ON f.kind = 'stuimg' AND f.ref = u.ref AND f.photo_no = u.photo_no
		       AND f.state = 'done' AND f.platform_no ~ '^[0-9]{1,18}$'
		 WHERE te.id = u.ref)
	END
	  FROM photo ph WHERE ph.terminal_id = u.ref AND ph.photo_no = u.photo_no $$;

-- A teaching log the platform accepted through the upward queue is kept
-- as sent, so that the stage hours' path sends it no more.
CREATE FUNCTION upward_classrecord_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO teaching_log_sent (recnum, upward_id, body)
	VALUES (NEW.body::jsonb ->> 'recnum', NEW.id, NEW.body)
	ON CONFLICT (recnum) DO NOTHING;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_classrecord_done AFTER UPDATE OF state ON upward_item
	FOR EACH ROW WHEN (NEW.kind = 'classrecord' AND NEW.state = 'done'
	                   AND OLD.state <> 'done' AND NEW.body IS NOT NULL)
	EXECUTE FUNCTION upward_classrecord_done();

-- A student's change after enrolment goes up again (/student), as the
-- public code sends it again: the facts /student carries.
CREATE FUNCTION upward_student_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (NEW.student_no, NEW.school_id, NEW.vehicle_class, NEW.registered_at)
	   IS DISTINCT FROM (OLD.student_no, OLD.school_id, OLD.vehicle_class, OLD.registered_at) THEN
		PERFORM upward_add('student', 'POST', NEW.id, NULL, NULL);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_student_changed AFTER UPDATE ON student
	FOR EACH ROW EXECUTE FUNCTION upward_student_changed();

-- The members of an upward POST (023's upward_members(), replaced whole
-- so that it stays one function): /institution's busistatus is the
-- string "1", as the relay's own signed sample sends it
-- (LeiYi0110/TimeSystemHttp, SignTestCase.java; docs/push-contract.md
-- 9.8); the rest as 023 wrote it.
CREATE OR REPLACE FUNCTION upward_members(u upward_item) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT CASE u.kind
	WHEN 'institution' THEN (
		SELECT jsonb_build_object('inscode', s.code, 'district', coalesce(s.district, ''),
		       'name', s.name, 'shortname', left(s.name, 16), 'licnum', '', 'licetime', '',
		       'business', '', 'creditcode', '', 'address', '', 'postcode', '',
		       'legal', '', 'contact', '', 'phone', '', 'busiscope', '',
		       -- a string, as the relay's own signed sample sends it (028)
		       'busistatus', '1', 'level', 1,
		       'coachnumber', (SELECT count(*) FROM coach c
		                        WHERE c.school_id = s.id AND c.status = 'active'),
		       'grasupvnum', 0, 'safmngnum', 0,
		       'tracarnum', (SELECT count(*) FROM vehicle v
		                      WHERE v.school_id = s.id AND v.status = 'active'),
		       'praticefield', (SELECT count(*) FROM training_site ts
		                         WHERE ts.school_id = s.id AND ts.kind = 'field'))
		  FROM school s WHERE s.id = u.ref)
	WHEN 'coach' THEN (
		SELECT jsonb_build_object('inscode', s.code, 'coachnum', c.coach_no,
		       'name', coalesce(c.name, ''),
		       -- GB 11643: the 17th digit is odd for a man (1), even for a woman (2)
		       'sex', CASE WHEN ci.id_card IS NULL THEN 0
		                   WHEN substr(ci.id_card, 17, 1)::int % 2 = 1 THEN 1 ELSE 2 END,
		       'idcard', coalesce(ci.id_card, ''), 'mobile', '', 'address', '',
		       'photo', 0, 'fingerprint', 0,
		       'drilicence', coalesce(c.licence_no, ''),
		       'fstdrilicdate', upward_day(c.licensed_on),
		       'occupationno', coalesce(c.occupation_no, ''),
		       'occupationlevel', coalesce(c.occupation_level, 0),
		       'dripermitted', array_to_string(c.drive_classes, ''),
		       'teachpermitted', array_to_string(c.teach_classes, ''),
		       'employstatus', c.employ_status, 'hiredate', upward_day(c.hired_on),
		       'leavedate', upward_day(c.left_on))
		  FROM coach c JOIN school s ON s.id = c.school_id
		  LEFT JOIN coach_identity ci ON ci.coach_no = c.coach_no
		 WHERE c.id = u.ref)
	WHEN 'trainingcar' THEN (
		-- carnum: the national number, else the plate (as devassign and the DELETE)
		SELECT jsonb_build_object('inscode', s.code, 'carnum', coalesce(v.vehicle_no, v.plate),
		       'franum', coalesce(v.frame_no, ''), 'engnum', coalesce(v.engine_no, ''),
		       'licnum', v.plate, 'platecolor', coalesce(v.plate_color, ''), 'photo', 0,
		       'manufacture', coalesce(v.make, ''), 'brand', coalesce(v.make, ''),
		       'model', coalesce(v.model, ''), 'perdritype', v.vehicle_class,
		       'buydate', upward_day(v.bought_on))
		  FROM vehicle v JOIN school s ON s.id = v.school_id WHERE v.id = u.ref)
	WHEN 'device' THEN (
		SELECT jsonb_build_object('devnum', coalesce(t.terminal_no, t.phone), 'termtype', 1,
		       'vender', coalesce(t.vendor, ''), 'model', '', 'imei', coalesce(t.imei, ''),
		       'sn', coalesce(t.factory_serial, ''), 'inscode', coalesce(s.code, ''),
		       'cerbase64', translate(regexp_replace(t.cert_pem, '-----[A-Z ]+-----', '', 'g'),
		                              E'\n\r ', ''))
		  FROM terminal t LEFT JOIN school s ON s.id = t.school_id WHERE t.id = u.ref)
	WHEN 'student' THEN (
		SELECT jsonb_build_object('inscode', s.code, 'stunum', st.student_no, 'cardtype', 1,
		       'idcard', '', 'nationality', 'CN', 'name', '', 'sex', 0, 'phone', '',
		       'address', '', 'photo', 0, 'fingerprint', 0, 'busitype', 0,
		       'drilicnum', '', 'fstdrilicdate', '', 'perdritype', st.vehicle_class,
		       'traintype', st.vehicle_class,
		       'applydate', upward_day(local_clock(st.registered_at)::date))
		  FROM student st JOIN school s ON s.id = st.school_id WHERE st.id = u.ref)
	ELSE (  -- devassign, devRembinding
		SELECT jsonb_build_object('devnum', coalesce(t.terminal_no, t.phone),
		       'carnum', coalesce(v.vehicle_no, v.plate), 'sim', t.phone)
		  FROM terminal t, vehicle v WHERE t.id = u.ref AND v.id = u.ref2)
	END $$;

-- A school's training site (training area, /region) goes up when it is
-- added or its name, kind or polygon change, after its school.  seq is the
-- site's place among its school's sites (1, 2, ...: by id).
CREATE FUNCTION upward_site() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' OR (NEW.name, NEW.kind, NEW.geojson)
	                       IS DISTINCT FROM (OLD.name, OLD.kind, OLD.geojson) THEN
		PERFORM upward_add('region', 'POST', NEW.id, NULL, NULL);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_site AFTER INSERT OR UPDATE ON training_site
	FOR EACH ROW EXECUTE FUNCTION upward_site();
INSERT INTO upward_item (kind, method, ref)
SELECT 'region', 'POST', id FROM training_site ORDER BY id;

-- /region's members, every one a string as the relay sends them
-- (PROTOCOL.md): type 1 a field, 2 a road [check: the codes are not
-- public]; vehicletype the classes of the school's active vehicles
-- (C1C2); polygon the outer ring of the site's first polygon as
-- "lng,lat;lng,lat;..." [check: the format is not public]; area 0
-- (hoursd does not compute it); the vehicle counts the school's active
-- vehicles.
CREATE FUNCTION upward_region_members(u upward_item) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	  'inscode', s.code,
	  'seq', (SELECT count(*) FROM training_site x
	           WHERE x.school_id = ts.school_id AND x.id <= ts.id)::text,
	  'name', ts.name, 'address', '', 'area', '0',
	  'type', CASE ts.kind WHEN 'field' THEN '1' ELSE '2' END,
	  'vehicletype', coalesce((SELECT string_agg(DISTINCT v.vehicle_class, '' ORDER BY v.vehicle_class)
	                             FROM vehicle v WHERE v.school_id = ts.school_id
	                              AND v.status = 'active'), ''),
	  'polygon', coalesce((
	      SELECT string_agg((pt ->> 0) || ',' || (pt ->> 1), ';' ORDER BY o)
	        FROM jsonb_array_elements(
	               CASE ts.geojson ->> 'type'
	               WHEN 'Polygon' THEN ts.geojson #> '{coordinates,0}'
	               WHEN 'MultiPolygon' THEN ts.geojson #> '{coordinates,0,0}' END)
	             WITH ORDINALITY AS r(pt, o)), ''),
	  'totalvehnum', (SELECT count(*) FROM vehicle v WHERE v.school_id = ts.school_id
	                   AND v.status = 'active')::text,
	  'curvehnum', (SELECT count(*) FROM vehicle v WHERE v.school_id = ts.school_id
	                 AND v.status = 'active')::text)
	  FROM training_site ts JOIN school s ON s.id = ts.school_id WHERE ts.id = u.ref $$;

-- A training area's review (GET /{inscode}-regionreview-{seq}), fetched
-- once its /region is accepted (with push.national_review), again on a
-- back-off until final (errorcode 0 with a flag), and at once on the
-- platform's reviewmsg notice of type 1: review_due the next fetch
-- (NULL: none), the last answer's flag (1 approved) and reason.
ALTER TABLE upward_item
	ADD COLUMN review_due     timestamptz,
	ADD COLUMN review_fetches integer NOT NULL DEFAULT 0,
	ADD COLUMN review_flag    integer,
	ADD COLUMN review_reason  text,
	ADD COLUMN review_answer  text,
	ADD COLUMN review_final   boolean NOT NULL DEFAULT false;
CREATE INDEX upward_item_review_due ON upward_item (review_due) WHERE review_due IS NOT NULL;
