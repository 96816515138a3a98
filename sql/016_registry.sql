-- 016_registry.sql - the registry the notice supervises (docs/registry.md):
-- each school's coaches and training vehicles with the fields of the
-- national supervision interface (/coach, /trainingcar), the terminals
-- bound to the vehicles (/devassign) with their history, what the login
-- checks flag, and the syllabus's confirmed flag.
--
-- 001 made the tables coach and vehicle; here they get their fields.  A
-- registry row is the current state; every change (added, updated, moved
-- to another school, retired) is a row of registry_change, never updated,
-- so that the state at any time can be read again.

-- ---- coaches ----

ALTER TABLE coach DROP CONSTRAINT coach_status_check;
ALTER TABLE coach
	ADD COLUMN name text CHECK (name ~ '^[^[:cntrl:]]{1,64}$'),
	ADD COLUMN licence_no text CHECK (licence_no ~ '^[!-~]{1,32}$'),   -- drilicence
	ADD COLUMN licensed_on date,                                        -- fstdrilicdate
	ADD COLUMN occupation_no text CHECK (occupation_no ~ '^[!-~]{1,32}$'),
	ADD COLUMN occupation_level smallint CHECK (occupation_level BETWEEN 0 AND 9),
	ADD COLUMN drive_classes text[] NOT NULL DEFAULT '{}',              -- dripermitted (准驾)
	ADD COLUMN teach_classes text[] NOT NULL DEFAULT '{}',              -- teachpermitted (准教)
	ADD COLUMN employ_status smallint NOT NULL DEFAULT 0
		CHECK (employ_status BETWEEN 0 AND 9),                      -- employstatus: 0 employed
	ADD COLUMN hired_on date,
	ADD COLUMN left_on date,
	ADD COLUMN retired_at timestamptz,
	ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
	ADD CONSTRAINT coach_status_check CHECK (status IN ('active', 'disabled', 'retired')),
	ADD CONSTRAINT coach_retired_dated CHECK ((status = 'retired') = (retired_at IS NOT NULL)),
	ADD CONSTRAINT coach_dates CHECK (left_on IS NULL OR hired_on IS NULL OR left_on >= hired_on);
UPDATE coach SET teach_classes = ARRAY[teach_class] WHERE teach_class IS NOT NULL;

-- The identity-card number in clear, kept apart as the students' is (011):
-- coach.id_card_sha256 is its digest, auditors read it masked.
CREATE TABLE coach_identity (
	coach_no  text PRIMARY KEY REFERENCES coach (coach_no),
	id_card   text NOT NULL CHECK (id_card ~ '^[0-9]{17}[0-9X]$'),
	noted_at  timestamptz NOT NULL DEFAULT now(),
	noted_by  text NOT NULL DEFAULT current_user
);
REVOKE ALL ON coach_identity FROM PUBLIC;
INSERT INTO audit_secret (tbl, col, why) VALUES
	('coach_identity', 'id_card', 'the identity-card number in clear');
CREATE VIEW coach_identity_masked AS
SELECT coach_no, left(id_card, 6) || '********' || right(id_card, 4) AS id_card_masked,
       noted_at, noted_by
  FROM coach_identity;

-- ---- vehicles ----

ALTER TABLE vehicle
	ADD COLUMN vehicle_no text UNIQUE CHECK (vehicle_no ~ '^[!-~]{1,32}$'),  -- carnum
	ADD COLUMN plate_color text CHECK (plate_color ~ '^[^[:cntrl:]]{1,8}$'),
	ADD COLUMN frame_no text CHECK (frame_no ~ '^[!-~]{1,32}$'),             -- franum (VIN)
	ADD COLUMN engine_no text CHECK (engine_no ~ '^[!-~]{1,32}$'),
	ADD COLUMN make text CHECK (make ~ '^[^[:cntrl:]]{1,64}$'),              -- manufacture
	ADD COLUMN model text CHECK (model ~ '^[^[:cntrl:]]{1,64}$'),
	ADD COLUMN bought_on date,
	ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
	ADD COLUMN retired_at timestamptz,
	ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
	ADD CONSTRAINT vehicle_retired_dated CHECK ((status = 'retired') = (retired_at IS NOT NULL));

-- ---- terminal bindings (/devassign, /devRembinding) ----

-- A terminal in a vehicle from bound_at until unbound_at (NULL: still).
-- terminal.vehicle_id is the open binding's vehicle (what the daemon
-- reads); a terminal is in one vehicle at a time, and its history stays.
CREATE TABLE terminal_binding (
	terminal_id  bigint NOT NULL REFERENCES terminal,
	vehicle_id   bigint NOT NULL REFERENCES vehicle,
	bound_at     timestamptz NOT NULL DEFAULT now(),
	unbound_at   timestamptz,
	bound_by     text NOT NULL DEFAULT current_user,
	CHECK (unbound_at IS NULL OR unbound_at >= bound_at),
	PRIMARY KEY (terminal_id, bound_at)
);
CREATE UNIQUE INDEX terminal_binding_open ON terminal_binding (terminal_id) WHERE unbound_at IS NULL;
CREATE INDEX terminal_binding_vehicle ON terminal_binding (vehicle_id, bound_at);
-- A terminal that had a vehicle before this migration: bound since it was made.
INSERT INTO terminal_binding (terminal_id, vehicle_id, bound_at)
SELECT id, vehicle_id, created_at FROM terminal WHERE vehicle_id IS NOT NULL;

-- ---- the history of every change ----

-- kind: coach or vehicle; key: the coach number or the plate; what:
-- added, updated, moved (another school), retired; the row before and
-- after as JSON (the identity card never: only its digest).
CREATE TABLE registry_change (
	id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind     text NOT NULL CHECK (kind IN ('coach', 'vehicle')),
	key      text NOT NULL,
	what     text NOT NULL CHECK (what IN ('added', 'updated', 'moved', 'retired')),
	school_id bigint NOT NULL REFERENCES school,    -- the school after the change
	before   jsonb,
	after    jsonb NOT NULL,
	at       timestamptz NOT NULL DEFAULT now(),
	by_name  text NOT NULL DEFAULT current_user
);
CREATE INDEX registry_change_key ON registry_change (kind, key, at);
SELECT audit_protect('registry_change');

-- A coach's school at a time: the school of the last change at or before
-- it (the first change's school before that).
CREATE FUNCTION coach_school_at(cno text, t timestamptz) RETURNS bigint
	LANGUAGE sql STABLE AS $$
	SELECT coalesce(
	  (SELECT school_id FROM registry_change
	    WHERE kind = 'coach' AND key = cno AND at <= t ORDER BY at DESC, id DESC LIMIT 1),
	  (SELECT school_id FROM coach WHERE coach_no = cno)) $$;

-- ---- what hoursctl coach|vehicle add|import|retire and vehicle bind|unbind call ----

-- A registry row's facts, as registry_change keeps them (the identity
-- card as its digest).
CREATE FUNCTION registry_facts(c coach) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('school', (SELECT code FROM school WHERE id = c.school_id),
	       'name', c.name, 'id_card_sha256', encode(c.id_card_sha256, 'hex'),
	       'licence_no', c.licence_no, 'licensed_on', c.licensed_on,
	       'occupation_no', c.occupation_no, 'occupation_level', c.occupation_level,
	       'drive_classes', to_jsonb(c.drive_classes), 'teach_classes', to_jsonb(c.teach_classes),
	       'employ_status', c.employ_status, 'hired_on', c.hired_on, 'left_on', c.left_on,
	       'status', c.status) $$;
CREATE FUNCTION registry_facts(v vehicle) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('school', (SELECT code FROM school WHERE id = v.school_id),
	       'vehicle_no', v.vehicle_no, 'plate_color', v.plate_color, 'frame_no', v.frame_no,
	       'engine_no', v.engine_no, 'make', v.make, 'model', v.model,
	       'vehicle_class', v.vehicle_class, 'bought_on', v.bought_on, 'status', v.status) $$;

-- Register a coach, or change its facts: one of added, same (nothing
-- changed), updated, moved (another school: the history keeps the old),
-- no_school, retired (a retired coach is not brought back).  id_card NULL:
-- the one recorded stays.
CREATE FUNCTION registry_coach_put(cno text, school_code text, cname text, id_card text,
	licence_no text, licensed_on date, occupation_no text, occupation_level smallint,
	drive_classes text[], teach_classes text[], employ_status smallint, hired_on date,
	left_on date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE sid bigint; prev coach; nw coach; what text;
BEGIN
	SELECT id INTO sid FROM school WHERE code = school_code;
	IF sid IS NULL THEN RETURN 'no_school'; END IF;
	SELECT * INTO prev FROM coach WHERE coach_no = cno FOR UPDATE;
	IF FOUND AND prev.status = 'retired' THEN RETURN 'retired'; END IF;
	IF NOT FOUND THEN
		INSERT INTO coach (school_id, coach_no, id_card_sha256, teach_class, name, licence_no,
		                   licensed_on, occupation_no, occupation_level, drive_classes,
		                   teach_classes, employ_status, hired_on, left_on)
		VALUES (sid, cno, sha256(convert_to(id_card, 'UTF8')), teach_classes[1], cname,
		        licence_no, licensed_on, occupation_no, occupation_level, drive_classes,
		        teach_classes, employ_status, hired_on, left_on)
		ON CONFLICT (coach_no) DO NOTHING
		RETURNING * INTO nw;
		IF nw.id IS NULL THEN RETURN 'same'; END IF;  -- another import at the same time
		what := 'added';
	ELSE
		nw := prev;
		nw.school_id := sid; nw.name := cname; nw.licence_no := licence_no;
		nw.licensed_on := licensed_on; nw.occupation_no := occupation_no;
		nw.occupation_level := occupation_level; nw.drive_classes := drive_classes;
		nw.teach_classes := teach_classes; nw.teach_class := teach_classes[1];
		nw.employ_status := employ_status; nw.hired_on := hired_on; nw.left_on := left_on;
		IF id_card IS NOT NULL THEN nw.id_card_sha256 := sha256(convert_to(id_card, 'UTF8')); END IF;
		IF registry_facts(nw) = registry_facts(prev) THEN RETURN 'same'; END IF;
		UPDATE coach SET school_id = nw.school_id, name = nw.name, licence_no = nw.licence_no,
		       licensed_on = nw.licensed_on, occupation_no = nw.occupation_no,
		       occupation_level = nw.occupation_level, drive_classes = nw.drive_classes,
		       teach_classes = nw.teach_classes, teach_class = nw.teach_class,
		       employ_status = nw.employ_status, hired_on = nw.hired_on, left_on = nw.left_on,
		       id_card_sha256 = nw.id_card_sha256, updated_at = now()
		 WHERE id = prev.id;
		what := CASE WHEN prev.school_id <> sid THEN 'moved' ELSE 'updated' END;
	END IF;
	IF id_card IS NOT NULL THEN
		INSERT INTO coach_identity (coach_no, id_card) VALUES (cno, id_card)
		ON CONFLICT (coach_no) DO UPDATE SET id_card = EXCLUDED.id_card, noted_at = now(),
		                                     noted_by = current_user;
	END IF;
	INSERT INTO registry_change (kind, key, what, school_id, before, after)
	VALUES ('coach', cno, what, sid, CASE WHEN what <> 'added' THEN registry_facts(prev) END,
	        registry_facts(nw));
	RETURN what;
END $$;

-- Register a vehicle by its plate, or change its facts: as
-- registry_coach_put.
CREATE FUNCTION registry_vehicle_put(vplate text, school_code text, vno text, color text,
	frame text, engine text, vmake text, vmodel text, vclass text, bought date)
	RETURNS text LANGUAGE plpgsql AS $$
DECLARE sid bigint; prev vehicle; nw vehicle; what text;
BEGIN
	SELECT id INTO sid FROM school WHERE code = school_code;
	IF sid IS NULL THEN RETURN 'no_school'; END IF;
	SELECT * INTO prev FROM vehicle WHERE plate = vplate FOR UPDATE;
	IF FOUND AND prev.status = 'retired' THEN RETURN 'retired'; END IF;
	IF vno IS NOT NULL AND EXISTS (SELECT 1 FROM vehicle WHERE vehicle_no = vno
	                                 AND plate <> vplate) THEN
		RETURN 'number_taken';
	END IF;
	IF NOT FOUND THEN
		INSERT INTO vehicle (school_id, plate, vehicle_class, vehicle_no, plate_color, frame_no,
		                     engine_no, make, model, bought_on)
		VALUES (sid, vplate, vclass, vno, color, frame, engine, vmake, vmodel, bought)
		ON CONFLICT (plate) DO NOTHING
		RETURNING * INTO nw;
		IF nw.id IS NULL THEN RETURN 'same'; END IF;
		what := 'added';
	ELSE
		nw := prev;
		nw.school_id := sid; nw.vehicle_no := vno; nw.plate_color := color; nw.frame_no := frame;
		nw.engine_no := engine; nw.make := vmake; nw.model := vmodel;
		nw.vehicle_class := vclass; nw.bought_on := bought;
		IF registry_facts(nw) = registry_facts(prev) THEN RETURN 'same'; END IF;
		UPDATE vehicle SET school_id = nw.school_id, vehicle_no = nw.vehicle_no,
		       plate_color = nw.plate_color, frame_no = nw.frame_no, engine_no = nw.engine_no,
		       make = nw.make, model = nw.model, vehicle_class = nw.vehicle_class,
		       bought_on = nw.bought_on, updated_at = now()
		 WHERE id = prev.id;
		what := CASE WHEN prev.school_id <> sid THEN 'moved' ELSE 'updated' END;
	END IF;
	INSERT INTO registry_change (kind, key, what, school_id, before, after)
	VALUES ('vehicle', vplate, what, sid, CASE WHEN what <> 'added' THEN registry_facts(prev) END,
	        registry_facts(nw));
	RETURN what;
END $$;

-- Retire a coach (left the trade, licence withdrawn) or a vehicle
-- (scrapped, sold): kept with its history, never used again.  A terminal
-- still bound to a retired vehicle stays so until it is unbound (or bound
-- elsewhere): its logins meet vehicle_not_registered meanwhile.  One of
-- retired, already, missing.
CREATE FUNCTION registry_retire(rkind text, rkey text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE oc coach; ov vehicle; nc coach; nv vehicle;
BEGIN
	IF rkind = 'coach' THEN
		SELECT * INTO oc FROM coach WHERE coach_no = rkey FOR UPDATE;
		IF NOT FOUND THEN RETURN 'missing'; END IF;
		IF oc.status = 'retired' THEN RETURN 'already'; END IF;
		UPDATE coach SET status = 'retired', retired_at = now(),
		       left_on = coalesce(left_on, training_day(now())), updated_at = now()
		 WHERE id = oc.id RETURNING * INTO nc;
		INSERT INTO registry_change (kind, key, what, school_id, before, after)
		VALUES ('coach', rkey, 'retired', nc.school_id, registry_facts(oc), registry_facts(nc));
	ELSE
		SELECT * INTO ov FROM vehicle WHERE plate = rkey FOR UPDATE;
		IF NOT FOUND THEN RETURN 'missing'; END IF;
		IF ov.status = 'retired' THEN RETURN 'already'; END IF;
		UPDATE vehicle SET status = 'retired', retired_at = now(), updated_at = now()
		 WHERE id = ov.id RETURNING * INTO nv;
		INSERT INTO registry_change (kind, key, what, school_id, before, after)
		VALUES ('vehicle', rkey, 'retired', nv.school_id, registry_facts(ov), registry_facts(nv));
	END IF;
	RETURN 'retired';
END $$;

-- Bind a terminal (its phone number) to a vehicle (plate), moving it out
-- of any other; vplate NULL: unbind it.  A terminal without a school
-- takes the vehicle's.  One of bound, same, unbound, not_bound,
-- no_terminal, no_vehicle, retired.
CREATE FUNCTION registry_bind(tphone text, vplate text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE tid bigint; cur bigint; vid bigint; vstatus text; vschool bigint;
BEGIN
	SELECT id, vehicle_id INTO tid, cur FROM terminal WHERE phone = tphone FOR UPDATE;
	IF tid IS NULL THEN RETURN 'no_terminal'; END IF;
	IF vplate IS NULL THEN
		IF cur IS NULL THEN RETURN 'not_bound'; END IF;
		UPDATE terminal_binding SET unbound_at = now() WHERE terminal_id = tid AND unbound_at IS NULL;
		UPDATE terminal SET vehicle_id = NULL, updated_at = now() WHERE id = tid;
		RETURN 'unbound';
	END IF;
	SELECT id, status, school_id INTO vid, vstatus, vschool FROM vehicle WHERE plate = vplate;
	IF vid IS NULL THEN RETURN 'no_vehicle'; END IF;
	IF vstatus = 'retired' THEN RETURN 'retired'; END IF;
	IF cur = vid THEN RETURN 'same'; END IF;
	UPDATE terminal_binding SET unbound_at = now() WHERE terminal_id = tid AND unbound_at IS NULL;
	INSERT INTO terminal_binding (terminal_id, vehicle_id) VALUES (tid, vid);
	UPDATE terminal SET vehicle_id = vid, school_id = coalesce(school_id, vschool),
	       updated_at = now() WHERE id = tid;
	RETURN 'bound';
END $$;

-- ---- the login checks ----

-- A login hoursd took although a check of the registry failed under a
-- setting of flag (docs/registry.md): the checks' reason names,
-- comma-separated (NULL: none).  Refused logins have the reason instead.
ALTER TABLE session_event ADD COLUMN flags text;

-- ---- the syllabus ----

-- Whether the authority confirmed a class's figures (conf/syllabus.yaml's
-- confirmed; hoursd warns at load about every class that is not).
ALTER TABLE syllabus_part ADD COLUMN confirmed boolean NOT NULL DEFAULT false;

-- ---- findings (docs/audit.md, "Findings") ----

-- 应装尽装: a vehicle of the registry (not retired) without a bound,
-- active terminal.
CREATE OR REPLACE VIEW finding_vehicle_without_terminal WITH (security_invoker = true) AS
SELECT s.code AS school_code, v.plate, v.vehicle_class, v.created_at
  FROM vehicle v JOIN school s ON s.id = v.school_id
 WHERE v.status = 'active'
   AND NOT EXISTS (SELECT 1 FROM terminal t WHERE t.vehicle_id = v.id AND t.status = 'active');

-- A coach's accepted minutes on a day after their leave date, or of a
-- class they may not teach, or while retired (per coach, day and class).
CREATE VIEW finding_coach_not_allowed WITH (security_invoker = true) AS
SELECT s.code AS school_code, r.coach_no, training_day(r.record_time) AS day, r.vehicle_class,
       CASE WHEN c.left_on IS NOT NULL AND training_day(r.record_time) > c.left_on
            THEN 'after_leave_date'
            WHEN c.retired_at IS NOT NULL AND r.record_time >= c.retired_at THEN 'retired'
            ELSE 'class_not_allowed' END AS why,
       c.left_on, c.teach_classes, count(*)::integer AS minutes,
       min(r.record_time) AS first_minute, max(r.record_time) AS last_minute
  FROM training_record r JOIN coach c ON c.coach_no = r.coach_no
  JOIN school s ON s.id = c.school_id
 WHERE r.verdict = 'accepted'
   AND ((c.left_on IS NOT NULL AND training_day(r.record_time) > c.left_on)
        OR (c.retired_at IS NOT NULL AND r.record_time >= c.retired_at)
        OR NOT (r.vehicle_class = ANY (c.teach_classes)))
 GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- Impossible travel: consecutive positions of a coach (across terminals)
-- or of a vehicle (across its terminals) farther apart than a car can go
-- in the time between them.  km_h: the speed it would take.
CREATE FUNCTION geo_km(lat1 integer, lon1 integer, lat2 integer, lon2 integer) RETURNS double precision
	LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT 6371.0 * 2 * asin(sqrt(power(sin(radians((lat2 - lat1) / 2e6)), 2)
	       + cos(radians(lat1 / 1e6)) * cos(radians(lat2 / 1e6))
	         * power(sin(radians((lon2 - lon1) / 2e6)), 2))) $$;

CREATE VIEW finding_impossible_travel WITH (security_invoker = true) AS
WITH pts AS (
  SELECT 'coach'::text AS who_kind, r.coach_no AS who, r.terminal_id, r.record_no,
         r.record_time AS at, r.lat_e6, r.lon_e6
    FROM training_record r WHERE r.fix_valid AND r.verdict = 'accepted'
  UNION ALL
  SELECT 'vehicle', v.plate, r.terminal_id, r.record_no, r.record_time, r.lat_e6, r.lon_e6
    FROM training_record r
    JOIN terminal_binding b ON b.terminal_id = r.terminal_id AND b.bound_at <= r.record_time
                           AND (b.unbound_at IS NULL OR r.record_time < b.unbound_at)
    JOIN vehicle v ON v.id = b.vehicle_id
   WHERE r.fix_valid AND r.verdict = 'accepted'),
seq AS (
  SELECT p.*, lag(p.at) OVER w AS prev_at, lag(p.lat_e6) OVER w AS prev_lat,
         lag(p.lon_e6) OVER w AS prev_lon, lag(p.terminal_id) OVER w AS prev_terminal,
         lag(p.record_no) OVER w AS prev_record
    FROM pts p WINDOW w AS (PARTITION BY p.who_kind, p.who ORDER BY p.at, p.terminal_id))
SELECT ts.school_code, q.who_kind, q.who, q.prev_at, q.at, q.prev_terminal, q.terminal_id,
       q.prev_record, q.record_no,
       round(geo_km(q.prev_lat, q.prev_lon, q.lat_e6, q.lon_e6)::numeric, 2) AS km,
       round((geo_km(q.prev_lat, q.prev_lon, q.lat_e6, q.lon_e6)
              / greatest(extract(epoch FROM q.at - q.prev_at), 1) * 3600)::numeric, 1) AS km_h
  FROM seq q JOIN terminal_school ts ON ts.terminal_id = q.terminal_id
 WHERE q.prev_at IS NOT NULL;

-- The audit's roles (009): a district auditor sees its schools' rows.
SELECT audit_scope(x, 'school_id IN (SELECT audit_schools_of(current_user))')
  FROM unnest(ARRAY['registry_change']) x;
SELECT audit_scope('terminal_binding', 'terminal_id IN (SELECT audit_terminals_of(current_user))');
SELECT audit_scope('coach_identity',
                   'coach_no IN (SELECT coach_no FROM coach WHERE school_id IN '
                   '(SELECT audit_schools_of(current_user)))');
