-- 009_supervision.sql - tamper evidence and the supervisors' roles
-- (docs/audit.md).
--
-- * The audit hash chain: every row of a chained table (audit_table) is
--   queued in audit_pending with the SHA-256 of its canonical bytes by a
--   statement trigger, in the transaction that inserts it; hoursd's chain
--   stage (sql/queries/chain.sql) appends the queued rows to audit_chain,
--   link n = SHA-256(link n-1 || table, key and row digest), under the lock
--   of the one audit_head row.  hoursd signs checkpoints of the head
--   (audit_checkpoint).  `hoursctl audit verify` walks it all again.
-- * Evidence is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE
--   to every role but the tables' owner (the migrations' role), and no
--   other role is granted them.
-- * Roles: hoursd_daemon, hoursd_auditor, hoursd_district_auditor (row
--   level security: the schools of its district), hoursd_liaison; their
--   grants are (re)applied by audit_grants(), which `hoursctl migrate`
--   runs after every migration run, so later tables get theirs.

-- ---- districts ----

ALTER TABLE school ADD COLUMN district text CHECK (district ~ '^[^[:cntrl:]]{1,64}$');

-- ---- the roles (cluster-wide: created once, whatever the database) ----

DO $$
DECLARE r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['hoursd_daemon', 'hoursd_auditor', 'hoursd_district_auditor',
	                         'hoursd_liaison'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END $$;

-- The district of each district auditor's login (hoursctl role add
-- district-auditor NAME --district D).
CREATE TABLE auditor_district (
	role_name  name PRIMARY KEY,
	district   text NOT NULL,
	added_at   timestamptz NOT NULL DEFAULT now()
);

-- What no auditor reads: a whole table (col NULL) or one column.  Kept
-- out of every auditor's grants by audit_grants().
CREATE TABLE audit_secret (
	tbl   text NOT NULL,
	col   text,
	why   text NOT NULL,
	UNIQUE NULLS NOT DISTINCT (tbl, col)
);
INSERT INTO audit_secret (tbl, col, why) VALUES
	('terminal_credential', NULL, 'the terminals'' private keys (PKCS#12) and their passwords'),
	('terminal', 'auth_code', 'the code a terminal authenticates with');

-- The tables the police liaison reads: what was pushed.
CREATE TABLE audit_liaison_table (tbl text PRIMARY KEY);
INSERT INTO audit_liaison_table VALUES ('push_packet'), ('push_attempt');

-- ---- append-only evidence ----

-- Evidence tables: UPDATE, DELETE and TRUNCATE refused (trigger) and never
-- granted (audit_grants) but to the owner.
CREATE TABLE audit_evidence (tbl text PRIMARY KEY);

-- Refuses the change unless the role is (a member of) the table's owner:
-- the migrations' role may still correct a table in a migration, nobody
-- else, whatever was granted.  A superuser passes here as everywhere.
CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID),
	               'MEMBER') THEN
		RETURN CASE WHEN TG_LEVEL = 'STATEMENT' THEN NULL
		            WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
	END IF;
	RAISE EXCEPTION '%: evidence is append-only: % refused to role %',
		TG_TABLE_NAME, TG_OP, current_user
		USING ERRCODE = 'insufficient_privilege';
END $$;

-- Make a table append-only evidence.
CREATE FUNCTION audit_protect(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_evidence VALUES (tbl) ON CONFLICT DO NOTHING;
	EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW '
	               'EXECUTE FUNCTION audit_refuse()', tbl || '_append_only', tbl);
	EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
	               'EXECUTE FUNCTION audit_refuse()', tbl || '_no_truncate', tbl);
	EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM PUBLIC', tbl);
END $$;

-- ---- the hash chain ----

-- The chained tables: a row's identity is its primary key (key_columns);
-- verify's --from/--to compare time_column, --school the value of
-- school_expr for the row t.
CREATE TABLE audit_table (
	name         text PRIMARY KEY,
	key_columns  text[] NOT NULL,
	time_column  text NOT NULL,
	school_expr  text NOT NULL
);

-- Rows inserted and not linked yet, in the order they were queued.
CREATE TABLE audit_pending (
	seq         bigserial PRIMARY KEY,
	tbl         text NOT NULL,
	key         jsonb NOT NULL,
	row_sha256  bytea NOT NULL
);

-- The chain: link n, without gaps, hash = SHA-256(hash of n-1 ||
-- audit_link_bytes(tbl, key, row_sha256)); link 0 is 32 zero bytes.
CREATE TABLE audit_chain (
	n           bigint PRIMARY KEY CHECK (n > 0),
	tbl         text NOT NULL,
	key         jsonb NOT NULL,
	row_sha256  bytea NOT NULL CHECK (length(row_sha256) = 32),
	hash        bytea NOT NULL CHECK (length(hash) = 32)
);
-- No index on (tbl, key): it would double the cost of a link; verify
-- joins the rows to the links by hashing.

-- The chain's head: one row, locked by the stage that appends.
CREATE TABLE audit_head (
	one   boolean PRIMARY KEY DEFAULT true CHECK (one),
	n     bigint NOT NULL,
	hash  bytea NOT NULL
);
INSERT INTO audit_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- A head hoursd signed: the bytes signed are audit_checkpoint_text(n, head,
-- signed_at); key_sha256 is the SHA-256 of the public key (DER).
CREATE TABLE audit_checkpoint (
	n           bigint PRIMARY KEY,
	head        bytea NOT NULL CHECK (length(head) = 32),
	signed_at   timestamptz NOT NULL,
	key_sha256  bytea NOT NULL CHECK (length(key_sha256) = 32),
	signature   bytea NOT NULL,
	stored_at   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_checkpoint_text(n bigint, head bytea, signed_at timestamptz) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT format(E'hoursd audit checkpoint v1\nn=%s\nhead=%s\nat=%s\n', n,
	                    encode(head, 'hex'), extract(epoch FROM signed_at)::bigint) $$;

-- A row's canonical bytes: its record text, (v1,v2,...) as PostgreSQL
-- writes a row, without the closing parenthesis and the empty fields of
-- trailing NULLs, in UTF-8, written with DateStyle ISO, TimeZone UTC,
-- bytea_output hex and extra_float_digits 1 (the callers pin them: a
-- function's SET clause).  A column added later (at the end) as NULL for
-- the old rows leaves their bytes as they were.  An unquoted field never
-- ends in ',' or ')' (record_out quotes such values), so only the
-- parenthesis and the trailing NULLs' commas are trimmed.
CREATE FUNCTION audit_row_sha256(r anyelement) RETURNS bytea
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT sha256(convert_to(rtrim(r::text, ',)'), 'UTF8')) $$;

-- A row's identity in the chain, as SQL of the row alias: its key columns
-- as a jsonb object.
CREATE FUNCTION audit_key_expr(cols text[], alias text) RETURNS text
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT 'jsonb_build_object(' || string_agg(format('%L, %I.%I', c, alias, c), ', ')
	             || ')' FROM unnest(cols) c $$;

-- What a link adds to the chain.
CREATE FUNCTION audit_link_bytes(tbl text, key jsonb, row_sha256 bytea) RETURNS bytea
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT convert_to(tbl || E'\n' || key::text || E'\n', 'UTF8') || row_sha256 $$;

-- The running hash: audit_hash(start, link bytes) OVER (ORDER BY n) is each
-- link's hash, from start (the hash before the first row).
-- (PL/pgSQL: an aggregate's SQL function is not inlined, and its calls
-- cost more than PL/pgSQL's simple-expression path.)
CREATE FUNCTION audit_hash_step(state bytea, start bytea, link bytea) RETURNS bytea
	LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
	AS $$ BEGIN RETURN sha256(coalesce(state, start) || link); END $$;
CREATE AGGREGATE audit_hash(bytea, bytea) (SFUNC = audit_hash_step, STYPE = bytea);

-- One batch of the chain stage (sql/queries/chain.sql calls it; src/chain.c
-- runs it): up to batch queued rows appended to audit_chain, in one
-- statement (one transaction).  The head row is taken FOR UPDATE: one
-- appender at a time across instances, and a statement that waited for
-- the lock reads the head the other one committed (READ COMMITTED re-reads
-- a locked row), so links stay numbered without gaps, each on the one
-- before it.  The queue rows are taken with SKIP LOCKED and deleted here:
-- a row is linked once, whichever instance takes it; a batch that dies
-- rolls back whole.  Within a batch the links follow the queue's order.
-- jit off: compiling this statement took ten times as long as running it
-- (0.3 s against 0.04 s for 10 000 links).
-- Returns one row: links appended, and the head's number after them.
CREATE FUNCTION audit_chain_append(batch int, OUT linked bigint, OUT head_n bigint)
	LANGUAGE sql VOLATILE SET jit = off AS $$
WITH head AS (
  SELECT n, hash FROM audit_head FOR UPDATE),
p AS (
  DELETE FROM audit_pending
   WHERE seq IN (SELECT seq FROM audit_pending ORDER BY seq LIMIT batch FOR UPDATE SKIP LOCKED)
  RETURNING seq, tbl, key, row_sha256),
l AS (
  SELECT head.n + row_number() OVER w AS n, p.tbl, p.key, p.row_sha256,
         audit_hash(head.hash, audit_link_bytes(p.tbl, p.key, p.row_sha256)) OVER w AS hash
    FROM p, head
  WINDOW w AS (ORDER BY p.seq)),
ins AS (
  INSERT INTO audit_chain (n, tbl, key, row_sha256, hash)
  SELECT n, tbl, key, row_sha256, hash FROM l
  RETURNING n),
moved AS (
  UPDATE audit_head h SET n = t.n, hash = t.hash
    FROM (SELECT n, hash FROM l ORDER BY n DESC LIMIT 1) t
  RETURNING h.n)
SELECT (SELECT count(*) FROM ins) AS linked,
       coalesce((SELECT n FROM moved), (SELECT n FROM head)) AS head
$$;

-- The statement trigger of a chained table: its new rows queued with
-- their digests (one INSERT a statement, not a call a row).
CREATE FUNCTION audit_enqueue() RETURNS trigger LANGUAGE plpgsql
	SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
	SET bytea_output = 'hex' SET extra_float_digits = 1 SET jit = off AS $$
BEGIN
	EXECUTE format('INSERT INTO audit_pending (tbl, key, row_sha256) '
	               'SELECT %L, %s, audit_row_sha256(n) FROM audit_new n', TG_TABLE_NAME,
	               (SELECT audit_key_expr(key_columns, 'n') FROM audit_table
	                 WHERE name = TG_TABLE_NAME));
	RETURN NULL;
END $$;

-- Join a table to the chain (and make it append-only evidence): what a
-- later migration calls for a table of its own (docs/audit.md).
CREATE FUNCTION audit_join(tbl text, key_columns text[], time_column text, school_expr text)
	RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_table VALUES (tbl, key_columns, time_column, school_expr);
	EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS audit_new '
	               'FOR EACH STATEMENT EXECUTE FUNCTION audit_enqueue()', tbl || '_chain', tbl);
	PERFORM audit_protect(tbl);
END $$;

-- The school of a terminal's row (for --school).
CREATE FUNCTION audit_terminal_school(tid bigint) RETURNS bigint
	LANGUAGE sql STABLE AS $$ SELECT school_id FROM terminal WHERE id = tid $$;

SELECT audit_join('training_record', '{terminal_id,record_no}', 'record_time',
                  'audit_terminal_school(t.terminal_id)');
SELECT audit_join('training_record_conflict', '{terminal_id,record_no,raw_sha256}', 'received_at',
                  'audit_terminal_school(t.terminal_id)');
SELECT audit_join('session_event', '{terminal_id,kind,event_time,person_no}', 'event_time',
                  'audit_terminal_school(t.terminal_id)');
SELECT audit_join('photo', '{terminal_id,photo_no}', 'received_at',
                  'audit_terminal_school(t.terminal_id)');
SELECT audit_join('record_judgement', '{terminal_id,record_no}', 'judged_at',
                  'audit_terminal_school(t.terminal_id)');
-- Append-only without a link each: positions (many, and the records carry
-- their own), the judge's claims, the push attempts, the chain itself.
SELECT audit_protect('position');
SELECT audit_protect('minute_claim');
SELECT audit_protect('push_attempt');
SELECT audit_protect('audit_chain');
SELECT audit_protect('audit_checkpoint');

-- What was stored before this migration joins the chain now, in a defined
-- order: table by table as above, each by its key.
DO $$
DECLARE t record;
BEGIN
	SET LOCAL DateStyle = 'ISO, YMD';
	SET LOCAL IntervalStyle = 'postgres';
	SET LOCAL TimeZone = 'UTC';
	SET LOCAL bytea_output = 'hex';
	SET LOCAL extra_float_digits = 1;
	FOR t IN SELECT * FROM audit_table ORDER BY array_position(ARRAY['training_record',
	         'training_record_conflict', 'session_event', 'photo', 'record_judgement'], name) LOOP
		EXECUTE format('INSERT INTO audit_pending (tbl, key, row_sha256) '
		               'SELECT %L, %s, audit_row_sha256(x) FROM %I x ORDER BY %s',
		               t.name, audit_key_expr(t.key_columns, 'x'), t.name,
		               (SELECT string_agg(format('x.%I', c), ', ') FROM unnest(t.key_columns) c));
	END LOOP;
END $$;

-- ---- the verifier's checks of the rows, in SQL ----

-- Per chained table: a link whose row is gone (deleted) or differs
-- (changed), a row neither linked nor queued (inserted behind the chain),
-- a queued row that differs.  $from/$to on the table's time column and
-- $school (an id) on its school: NULL, no limit.  Rows: table, key, what.
CREATE FUNCTION audit_check_rows(from_t timestamptz, to_t timestamptz, school bigint)
	RETURNS TABLE (tbl text, key jsonb, problem text)
	LANGUAGE plpgsql STABLE
	SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
	SET bytea_output = 'hex' SET extra_float_digits = 1 AS $$
DECLARE t record; keyexpr text; cond text;
BEGIN
	FOR t IN SELECT * FROM audit_table ORDER BY name LOOP
		keyexpr := audit_key_expr(t.key_columns, 't');
		cond := format('($1::timestamptz IS NULL OR t.%1$I >= $1) AND ($2::timestamptz IS NULL OR t.%1$I < $2)'
		               ' AND ($3::bigint IS NULL OR %2$s = $3)', t.time_column, t.school_expr);
		-- the rows in range against their link or queue entry
		RETURN QUERY EXECUTE format(
			'SELECT %1$L::text, r.key, CASE WHEN coalesce(c.row_sha256, p.row_sha256) IS NULL'
			'   THEN ''not in the chain: inserted behind hoursd''''s back'''
			'   ELSE ''changed since it was chained: the row''''s digest differs'' END'
			'  FROM (SELECT %2$s AS key, audit_row_sha256(t) AS d FROM %1$I t WHERE %3$s) r'
			'  LEFT JOIN audit_chain c ON c.tbl = %1$L AND c.key = r.key'
			'  LEFT JOIN LATERAL (SELECT row_sha256 FROM audit_pending q'
			'                      WHERE q.tbl = %1$L AND q.key = r.key LIMIT 1) p ON true'
			' WHERE coalesce(c.row_sha256, p.row_sha256) IS DISTINCT FROM r.d'
			' ORDER BY r.key', t.name, keyexpr, cond)
			USING from_t, to_t, school;
		-- links whose row is gone (only when no range limits: a row out of
		-- range cannot be told from a deleted one without its time)
		IF from_t IS NULL AND to_t IS NULL AND school IS NULL THEN
			RETURN QUERY EXECUTE format(
				'SELECT %1$L::text, c.key, ''deleted: linked at '' || c.n || '', the row is gone'''
				'  FROM audit_chain c WHERE c.tbl = %1$L AND NOT EXISTS ('
				'    SELECT 1 FROM %1$I t WHERE %2$s)'
				' ORDER BY c.n', t.name,
				(SELECT string_agg(format('t.%1$I = (jsonb_populate_record(NULL::%2$I, c.key)).%1$I',
				                          col, t.name), ' AND ')
				   FROM unnest(t.key_columns) col));
		END IF;
	END LOOP;
	-- links of a table taken out of audit_table (its rows no longer checked)
	IF from_t IS NULL AND to_t IS NULL AND school IS NULL THEN
		RETURN QUERY SELECT c.tbl, c.key, 'linked at ' || c.n || ', but its table is not in audit_table'
		  FROM audit_chain c WHERE c.tbl NOT IN (SELECT name FROM audit_table) ORDER BY c.n;
	END IF;
END $$;

-- ---- roles: grants and row-level security ----

-- The schools, terminals and students a district auditor (the role r)
-- sees.  SECURITY DEFINER: they read past the policies they serve.
CREATE FUNCTION audit_schools_of(r name) RETURNS SETOF bigint
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
	SELECT s.id FROM school s JOIN auditor_district a ON a.district = s.district
	 WHERE a.role_name = r $$;
CREATE FUNCTION audit_terminals_of(r name) RETURNS SETOF bigint
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
	SELECT t.id FROM terminal t WHERE t.school_id IN (SELECT audit_schools_of(r)) $$;
CREATE FUNCTION audit_students_of(r name) RETURNS SETOF text
	LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_catalog AS $$
	SELECT s.student_no FROM student s WHERE s.school_id IN (SELECT audit_schools_of(r))
	UNION
	SELECT DISTINCT tr.student_no FROM training_record tr
	 WHERE tr.terminal_id IN (SELECT audit_terminals_of(r)) $$;

-- Row-level security on a table: every role sees every row, but a
-- district auditor, who sees the rows where expr holds (expr may use
-- current_user, the auditor).
CREATE FUNCTION audit_scope(tbl text, expr text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', tbl);
	-- (SELECT ...): an InitPlan, evaluated once a statement, not once a row
	EXECUTE format('CREATE POLICY audit_everyone ON %I '
	               'USING ((SELECT NOT pg_has_role(''hoursd_district_auditor'', ''MEMBER''))) '
	               'WITH CHECK (true)', tbl);
	EXECUTE format('CREATE POLICY audit_district ON %I FOR SELECT TO hoursd_district_auditor '
	               'USING (%s)', tbl, expr);
END $$;

SELECT audit_scope('school', 'id IN (SELECT audit_schools_of(current_user))');
SELECT audit_scope(x, 'school_id IN (SELECT audit_schools_of(current_user))')
  FROM unnest(ARRAY['training_site', 'coach', 'vehicle', 'student', 'terminal']) x;
SELECT audit_scope(x, 'terminal_id IN (SELECT audit_terminals_of(current_user))')
  FROM unnest(ARRAY['training_record', 'training_record_conflict', 'session_event', 'photo',
                    'position', 'record_judgement', 'minute_claim', 'terminal_command']) x;
SELECT audit_scope(x, 'student_no IN (SELECT audit_students_of(current_user))')
  FROM unnest(ARRAY['progress', 'progress_day', 'push_packet', 'licence_held']) x;
SELECT audit_scope('push_attempt', 'packet_id IN (SELECT id FROM push_packet)');

-- The views read with the reader's rights (and so its row-level security).
ALTER VIEW record_verdict SET (security_invoker = true);
ALTER VIEW lesson SET (security_invoker = true);
ALTER VIEW terminal_signature_stats SET (security_invoker = true);
ALTER VIEW terminal_command_state SET (security_invoker = true);

-- Every role's grants on every table, view and sequence of the schema,
-- from the rules (docs/audit.md, "Roles"); run again by `hoursctl migrate`
-- after every run, so a table a later migration adds gets its grants.
--   hoursd_daemon: read and append everything; change and delete only
--     what is not evidence (audit_evidence); the audit's own rules
--     (audit_table, audit_secret, ...) and schema_migrations it only reads
--   hoursd_auditor: read all but audit_secret's tables and columns
--   hoursd_district_auditor: the same, on tables with row-level security
--     and views with security_invoker only (the others would show it
--     every school)
--   hoursd_liaison: read audit_liaison_table's tables
CREATE FUNCTION audit_grants() RETURNS void LANGUAGE plpgsql AS $$
DECLARE r record; g record; cols text; allcols text; secret boolean; readable boolean;
BEGIN
	FOR r IN SELECT c.relname, c.relkind, c.relrowsecurity,
	                coalesce(c.reloptions @> ARRAY['security_invoker=true'], false) AS invoker
	           FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
	          WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
	          ORDER BY c.relname LOOP
		IF r.relkind = 'S' THEN
			EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %I TO hoursd_daemon', r.relname);
			CONTINUE;
		END IF;
		SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
		       string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
		         FILTER (WHERE NOT EXISTS (SELECT 1 FROM audit_secret s
		                                    WHERE s.tbl = r.relname AND s.col = a.attname))
		  INTO allcols, cols
		  FROM pg_attribute a
		 WHERE a.attrelid = format('%I', r.relname)::regclass AND a.attnum > 0
		   AND NOT a.attisdropped;
		EXECUTE format('REVOKE ALL ON %I FROM hoursd_daemon, hoursd_auditor, '
		               'hoursd_district_auditor, hoursd_liaison', r.relname);
		EXECUTE format('REVOKE ALL (%s) ON %I FROM hoursd_daemon, hoursd_auditor, '
		               'hoursd_district_auditor, hoursd_liaison', allcols, r.relname);
		IF r.relkind = 'v' OR r.relkind = 'm'
		   OR r.relname = ANY (ARRAY['audit_table', 'audit_evidence', 'audit_secret',
		                             'audit_liaison_table', 'auditor_district',
		                             'schema_migrations']) THEN
			-- views, and the rules of the audit itself: hoursd only reads them
			EXECUTE format('GRANT SELECT ON %I TO hoursd_daemon', r.relname);
		ELSIF EXISTS (SELECT 1 FROM audit_evidence WHERE tbl = r.relname) THEN
			EXECUTE format('GRANT SELECT, INSERT ON %I TO hoursd_daemon', r.relname);
			-- nobody but the owner keeps a right to change evidence, whoever granted it
			FOR g IN SELECT DISTINCT a.grantee
			           FROM pg_class c, aclexplode(c.relacl) a
			          WHERE c.oid = format('%I', r.relname)::regclass
			            AND a.grantee <> c.relowner
			            AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE') LOOP
				EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM %s', r.relname,
				               CASE WHEN g.grantee = 0 THEN 'PUBLIC'
				                    ELSE quote_ident(pg_get_userbyid(g.grantee)) END);
			END LOOP;
		ELSE
			EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hoursd_daemon',
			               r.relname);
		END IF;
		IF EXISTS (SELECT 1 FROM audit_liaison_table WHERE tbl = r.relname) THEN
			EXECUTE format('GRANT SELECT ON %I TO hoursd_liaison', r.relname);
		END IF;
		secret := EXISTS (SELECT 1 FROM audit_secret WHERE tbl = r.relname AND col IS NULL);
		CONTINUE WHEN secret;
		readable := CASE WHEN r.relkind IN ('v', 'm') THEN r.invoker ELSE r.relrowsecurity END;
		IF cols IS DISTINCT FROM allcols THEN
			EXECUTE format('GRANT SELECT (%s) ON %I TO hoursd_auditor', cols, r.relname);
			IF readable THEN
				EXECUTE format('GRANT SELECT (%s) ON %I TO hoursd_district_auditor', cols,
				               r.relname);
			END IF;
		ELSE
			EXECUTE format('GRANT SELECT ON %I TO hoursd_auditor', r.relname);
			IF readable THEN
				EXECUTE format('GRANT SELECT ON %I TO hoursd_district_auditor', r.relname);
			END IF;
		END IF;
	END LOOP;
END $$;

-- A login of one of the four kinds (hoursctl role add): created, or made
-- a member when it exists; password: a SCRAM verifier (PQencryptPasswordConn),
-- NULL to leave it as it is.  Returns whether the role was created.
CREATE FUNCTION audit_role_add(kind text, login name, district text, password text)
	RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE grp text; created boolean := false;
BEGIN
	grp := CASE kind WHEN 'hoursd' THEN 'hoursd_daemon' WHEN 'auditor' THEN 'hoursd_auditor'
	                 WHEN 'district-auditor' THEN 'hoursd_district_auditor'
	                 WHEN 'liaison' THEN 'hoursd_liaison' END;
	IF grp IS NULL THEN
		RAISE EXCEPTION 'role kind %: hoursd, auditor, district-auditor or liaison', kind;
	END IF;
	IF (kind = 'district-auditor') <> (district IS NOT NULL) THEN
		RAISE EXCEPTION 'a district auditor, and only one, has a district';
	END IF;
	IF district IS NOT NULL AND NOT EXISTS (SELECT 1 FROM school WHERE school.district = audit_role_add.district) THEN
		RAISE NOTICE 'no school is in district % yet', district;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login) THEN
		EXECUTE format('CREATE ROLE %I LOGIN', login);
		created := true;
	END IF;
	EXECUTE format('GRANT %I TO %I', grp, login);
	IF password IS NOT NULL THEN
		EXECUTE format('ALTER ROLE %I PASSWORD %L', login, password);
	END IF;
	IF district IS NOT NULL THEN
		INSERT INTO auditor_district (role_name, district) VALUES (login, district)
		ON CONFLICT (role_name) DO UPDATE SET district = EXCLUDED.district;
	END IF;
	RETURN created;
END $$;

SELECT audit_grants();
