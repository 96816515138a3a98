-- 023_upward.sql - master data upward (docs/push-contract.md, "Master data
-- upward"): the registry's schools, coaches, vehicles, terminals, their
-- bindings and the students, sent to the national platform under
-- push.profile national, each change once and in the order it was made.
--
-- upward_item is the outbox's queue of master data: one row per change,
-- sent by the same pusher as the stage hours (lease, back-off, signing,
-- the answers' errorcodes), one at a time in id order.  Triggers on the
-- registry's tables add the rows; nothing else does.

CREATE TABLE upward_item (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- the order sent in
	kind          text NOT NULL CHECK (kind IN ('institution', 'coach', 'trainingcar',
	                                            'device', 'devassign', 'devRembinding',
	                                            'student')),
	method        text NOT NULL CHECK (method IN ('POST', 'DELETE')),
	ref           bigint NOT NULL,     -- the row: school, coach, vehicle, terminal, student id
	ref2          bigint,              -- devassign/devRembinding: the vehicle
	key           text,                -- DELETE: the number in the path, kept at the change
	state         text NOT NULL DEFAULT 'pending'
	              CHECK (state IN ('pending', 'sending', 'done', 'failed')),
	created_at    timestamptz NOT NULL DEFAULT now(),
	next_attempt  timestamptz NOT NULL DEFAULT now(),
	attempts      integer NOT NULL DEFAULT 0,
	failed_1      integer NOT NULL DEFAULT 0,  -- answers of errorcode 1
	body          text,                -- POST: the body as first built (every attempt sends it)
	answer        text,                -- the last answer (cut at 4 KiB)
	errorcode     integer,             -- the last answer's errorcode
	platform_no   text,                -- the number the answer's data assigned, if any
	done_at       timestamptz,
	last_error    text
);
CREATE INDEX upward_item_open ON upward_item (id) WHERE state IN ('pending', 'sending');
-- The coach's identity card goes in clear in /coach's body (from the
-- secret coach_identity): the body is read by hoursd's role only.
INSERT INTO audit_secret (tbl, col, why) VALUES
	('upward_item', 'body', 'a coach''s identity card in clear, as sent upward');

CREATE FUNCTION upward_add(k text, m text, r bigint, r2 bigint, kk text) RETURNS void
	LANGUAGE sql AS $$
	INSERT INTO upward_item (kind, method, ref, ref2, key) VALUES (k, m, r, r2, kk) $$;

CREATE FUNCTION upward_school() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' OR (NEW.code, NEW.name, NEW.district)
	                       IS DISTINCT FROM (OLD.code, OLD.name, OLD.district) THEN
		PERFORM upward_add('institution', 'POST', NEW.id, NULL, NULL);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_school AFTER INSERT OR UPDATE ON school
	FOR EACH ROW EXECUTE FUNCTION upward_school();

CREATE FUNCTION upward_coach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'retired' THEN
		IF TG_OP = 'UPDATE' AND OLD.status <> 'retired' THEN
			PERFORM upward_add('coach', 'DELETE', NEW.id, NULL, NEW.coach_no);
		END IF;
	ELSIF TG_OP = 'INSERT' OR registry_facts(NEW) IS DISTINCT FROM registry_facts(OLD) THEN
		PERFORM upward_add('coach', 'POST', NEW.id, NULL, NULL);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_coach AFTER INSERT OR UPDATE ON coach
	FOR EACH ROW EXECUTE FUNCTION upward_coach();

CREATE FUNCTION upward_vehicle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.status = 'retired' THEN
		IF TG_OP = 'UPDATE' AND OLD.status <> 'retired' THEN
			PERFORM upward_add('trainingcar', 'DELETE', NEW.id, NULL,
			                   coalesce(NEW.vehicle_no, NEW.plate));
		END IF;
	ELSIF TG_OP = 'INSERT' OR registry_facts(NEW) IS DISTINCT FROM registry_facts(OLD) THEN
		PERFORM upward_add('trainingcar', 'POST', NEW.id, NULL, NULL);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_vehicle AFTER INSERT OR UPDATE ON vehicle
	FOR EACH ROW EXECUTE FUNCTION upward_vehicle();

-- A terminal of a school: /device when it is added or its numbers change
-- (a terminal of no school is not the platform's yet: it goes up when it
-- is assigned one); DELETE /device-{devnum} when it is disabled (a
-- terminal is retired by disabling it: its history stays).
CREATE FUNCTION upward_terminal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.school_id IS NULL AND (TG_OP = 'INSERT' OR OLD.school_id IS NULL) THEN
		RETURN NULL;
	ELSIF TG_OP = 'UPDATE' AND NEW.status <> 'active' THEN
		IF OLD.status = 'active' AND OLD.school_id IS NOT NULL THEN
			PERFORM upward_add('device', 'DELETE', NEW.id, NULL,
			                   coalesce(NEW.terminal_no, NEW.phone));
		END IF;
	ELSIF TG_OP = 'INSERT' OR OLD.status <> 'active'
	      OR (NEW.terminal_no, NEW.phone, NEW.school_id, NEW.imei, NEW.vendor, NEW.cert_sha256)
	         IS DISTINCT FROM
	         (OLD.terminal_no, OLD.phone, OLD.school_id, OLD.imei, OLD.vendor, OLD.cert_sha256) THEN
		PERFORM upward_add('device', 'POST', NEW.id, NULL, NULL);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER upward_terminal AFTER INSERT OR UPDATE ON terminal
	FOR EACH ROW EXECUTE FUNCTION upward_terminal();

CREATE FUNCTION upward_binding() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' AND NEW.unbound_at IS NULL THEN
		PERFORM upward_add('devassign', 'POST', NEW.terminal_id, NEW.vehicle_id, NULL);
	ELSIF TG_OP = 'UPDATE' AND OLD.unbound_at IS NULL AND NEW.unbound_at IS NOT NULL THEN
		PERFORM upward_add('devRembinding', 'POST', NEW.terminal_id, NEW.vehicle_id, NULL);
	END IF;
	RETURN NULL;
END $$;
-- Deferred to the commit: a binding that gives the terminal its school
-- (registry_bind) queues /device first, then /devassign.
CREATE CONSTRAINT TRIGGER upward_binding AFTER INSERT OR UPDATE ON terminal_binding
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION upward_binding();

CREATE FUNCTION upward_student() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM upward_add('student', 'POST', NEW.id, NULL, NULL);
	RETURN NULL;
END $$;
CREATE TRIGGER upward_student AFTER INSERT ON student
	FOR EACH ROW EXECUTE FUNCTION upward_student();

-- yyyyMMdd, '' for none.
CREATE FUNCTION upward_day(d date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT coalesce(to_char(d, 'YYYYMMDD'), '') $$;

-- The members of a POST as the platform names them (PROTOCOL.md, "The
-- platform's upward interfaces"), from the rows as they are when the item
-- is first sent; the pusher writes them compact with members sorted and
-- keeps that body.  NULL: the row is gone.  Members hoursd does not hold
-- (photo, fingerprint, an address) are sent empty, numbers as numbers.
CREATE FUNCTION upward_members(u upward_item) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT CASE u.kind
	WHEN 'institution' THEN (
		SELECT jsonb_build_object('inscode', s.code, 'district', coalesce(s.district, ''),
		       'name', s.name, 'shortname', left(s.name, 16), 'licnum', '', 'licetime', '',
		       'business', '', 'creditcode', '', 'address', '', 'postcode', '',
		       'legal', '', 'contact', '', 'phone', '', 'busiscope', '',
		       'busistatus', 1, 'level', 1,
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

-- What is already there when the national profile first runs goes up
-- too, in the order the platform needs it: schools, coaches, vehicles,
-- terminals, bindings, students.
INSERT INTO upward_item (kind, method, ref)
SELECT 'institution', 'POST', id FROM school ORDER BY id;
INSERT INTO upward_item (kind, method, ref)
SELECT 'coach', 'POST', id FROM coach WHERE status <> 'retired' ORDER BY id;
INSERT INTO upward_item (kind, method, ref)
SELECT 'trainingcar', 'POST', id FROM vehicle WHERE status = 'active' ORDER BY id;
INSERT INTO upward_item (kind, method, ref)
SELECT 'device', 'POST', id FROM terminal
 WHERE status = 'active' AND school_id IS NOT NULL ORDER BY id;
INSERT INTO upward_item (kind, method, ref, ref2)
SELECT 'devassign', 'POST', terminal_id, vehicle_id FROM terminal_binding
 WHERE unbound_at IS NULL ORDER BY bound_at;
INSERT INTO upward_item (kind, method, ref)
SELECT 'student', 'POST', id FROM student ORDER BY id;
