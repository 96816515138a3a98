-- 015_merkle_log.sql - the audit log becomes a Merkle log (docs/audit.md,
-- "The log").
--
-- * No trigger hashes a row's text any more, and nothing is queued: every
--   logged table (audit_table) gets a column audit_xid, the id of the
--   transaction that inserted the row (its default; a BRIN index keeps it
--   findable at almost no cost).  hoursd's chain stage (src/chain.c) takes,
--   every audit.chain_interval_ms, the rows whose transactions ended since
--   its last batch (audit_xid in [lo, hi), hi the oldest transaction still
--   running), computes their leaves (audit_log_leaves), builds the batch's
--   Merkle tree with RFC 9162's hashing (leaf = SHA-256(0x00 || data),
--   node = SHA-256(0x01 || left || right)) and appends one row to
--   audit_batch: the leaves' hashes, the root, and the link
--   hash = SHA-256(hash of batch n-1 || be64 n || be64 size || root).
-- * Batch 1 links on the old chain's head: the rows stored before this
--   migration stay in audit_chain, verifiable as they were (their
--   audit_xid is NULL), and the log continues that chain.
-- * Checkpoints sign tree heads (batch n, its link hash) with a number k
--   of their own, without gaps (audit_log_checkpoint); audit_checkpoint
--   keeps the old chain's checkpoints.

-- ---- the old chain, closed ----

-- Whatever was still queued is linked as before.
DO $$
BEGIN
	LOOP
		EXIT WHEN (SELECT linked FROM audit_chain_append(10000)) = 0;
	END LOOP;
END $$;

DO $$
DECLARE t record;
BEGIN
	FOR t IN SELECT name FROM audit_table LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %I', t.name || '_chain', t.name);
	END LOOP;
END $$;

-- ---- leaves ----

-- A text field as a leaf carries it: its length (4 bytes, big-endian) and
-- its UTF-8 bytes; NULL is the length -1.  (STABLE as textsend() is: an
-- SQL function is inlined only when it claims no more than its body.)
CREATE FUNCTION audit_leaf_text(x text) RETURNS bytea
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT coalesce(int4send(octet_length(x)) || textsend(x), '\xffffffff'::bytea) $$;

-- A moment: 8 bytes, microseconds since 2000-01-01 UTC; NULL: '\xff'.
CREATE FUNCTION audit_leaf_time(x timestamptz) RETURNS bytea
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT coalesce(timestamptz_send(x), '\xff'::bytea) $$;

-- leaf_expr: SQL of the row alias t giving the bytes of its leaf after the
-- table's name and a newline; the default, the SHA-256 of the row's text
-- (009's audit_row_sha256) for tables of few rows.
ALTER TABLE audit_table ADD COLUMN leaf_expr text NOT NULL DEFAULT 'audit_row_sha256(t)';

-- The two tables of a row or two per record: their columns as bytes, no
-- text of the row.  A record's terminal-signed columns are bound through
-- raw_sha256 too (audit verify decodes raw again).
UPDATE audit_table SET leaf_expr =
	'int8send(t.terminal_id) || audit_leaf_text(t.record_no) || audit_leaf_time(t.record_time)'
	' || audit_leaf_text(t.student_no) || audit_leaf_text(t.coach_no) || int8send(t.class_id)'
	' || audit_leaf_text(t.course_code) || int2send(t.part) || int2send(t.mode)'
	' || audit_leaf_text(t.vehicle_class) || int2send(t.upload_type) || int2send(t.record_status)'
	' || int4send(t.max_speed_dkmh) || int4send(t.mileage_dkm) || int4send(t.lat_e6)'
	' || int4send(t.lon_e6) || boolsend(t.fix_valid) || audit_leaf_time(t.gnss_time)'
	' || audit_leaf_time(t.session_login_at) || audit_leaf_text(t.verdict)'
	' || audit_leaf_text(t.reason) || audit_leaf_time(t.received_at) || t.raw_sha256'
	WHERE name = 'training_record';
UPDATE audit_table SET leaf_expr =
	'int8send(t.terminal_id) || audit_leaf_text(t.record_no) || audit_leaf_text(t.reason)'
	' || audit_leaf_time(t.queued_at) || audit_leaf_time(t.judged_at)'
	WHERE name = 'record_judgement';

-- The transaction that inserted a row, as a number (pg_current_xact_id()).
CREATE FUNCTION audit_xact() RETURNS bigint
	LANGUAGE sql VOLATILE AS $$ SELECT pg_current_xact_id()::text::bigint $$;

-- The oldest transaction still running: every row of an older one is
-- committed (and visible) or rolled back.
CREATE FUNCTION audit_horizon() RETURNS bigint
	LANGUAGE sql STABLE AS $$ SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint $$;

-- A table joins the log: its column audit_xid (NULL for the rows already
-- there, which the old chain holds), its index.
CREATE FUNCTION audit_log_column(tbl text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('ALTER TABLE %I ADD COLUMN audit_xid bigint', tbl);
	EXECUTE format('ALTER TABLE %I ALTER COLUMN audit_xid SET DEFAULT audit_xact()', tbl);
	EXECUTE format('CREATE INDEX %I ON %I USING brin (audit_xid) '
	               'WITH (pages_per_range = 16, autosummarize = on)', tbl || '_audit_xid', tbl);
END $$;

SELECT audit_log_column(name) FROM audit_table ORDER BY name;

-- Join a table to the log (and make it append-only evidence): what a later
-- migration calls for a table of its own (docs/audit.md).  leaf_expr as
-- above; NULL: the row's text.
DROP FUNCTION audit_join(text, text[], text, text);
CREATE FUNCTION audit_join(tbl text, key_columns text[], time_column text, school_expr text,
                           leaf_expr text DEFAULT NULL)
	RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO audit_table (name, key_columns, time_column, school_expr, leaf_expr)
	VALUES (tbl, key_columns, time_column, school_expr, coalesce(leaf_expr, 'audit_row_sha256(t)'));
	PERFORM audit_log_column(tbl);
	PERFORM audit_log_define();
	PERFORM audit_protect(tbl);
END $$;

-- The leaves of the rows inserted by transactions in [lo, hi), in the
-- log's order: table by table (by name), by audit_xid, by key.  A leaf's
-- data is the table's name, '\n' and its leaf_expr's bytes; its hash,
-- which hoursd and hoursctl compute (PostgreSQL's sha256() costs more
-- than the rest of a leaf), is SHA-256(0x00 || data).  with_keys, each
-- row's key too (jsonb, for audit verify's lines), else NULL.
CREATE FUNCTION audit_log_leaves(lo bigint, hi bigint, with_keys boolean)
	RETURNS TABLE (tbl text, key jsonb, data bytea)
	LANGUAGE plpgsql STABLE
	SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
	SET bytea_output = 'hex' SET extra_float_digits = 1 SET jit = off AS $$
DECLARE t record;
BEGIN
	FOR t IN SELECT * FROM audit_table ORDER BY name COLLATE "C" LOOP
		RETURN QUERY EXECUTE format(
			'SELECT %1$L::text, %2$s, %3$L::bytea || %4$s'
			'  FROM %5$I t WHERE t.audit_xid >= $1 AND t.audit_xid < $2'
			' ORDER BY t.audit_xid, %6$s',
			t.name, CASE WHEN with_keys THEN audit_key_expr(t.key_columns, 't')
			             ELSE 'NULL::jsonb' END,
			convert_to(t.name || E'\n', 'UTF8'), t.leaf_expr, t.name,
			(SELECT string_agg(format('t.%I', c), ', ') FROM unnest(t.key_columns) c))
			USING lo, hi;
	END LOOP;
END $$;

-- The same leaves' data as one value, each preceded by its length (4
-- bytes, big-endian): what the chain stage reads.  One SQL statement,
-- written out by audit_log_define() from audit_table (a table's
-- string_agg is far cheaper than RETURN QUERY's rows).
CREATE FUNCTION audit_log_define() RETURNS void LANGUAGE plpgsql AS $$
DECLARE body text;
BEGIN
	SELECT string_agg(format(
		'coalesce((SELECT string_agg(int4send(octet_length(d)) || d, ''''::bytea'
		' ORDER BY x, %1$s) FROM (SELECT %2$L::bytea || %3$s AS d, t.audit_xid AS x, %1$s'
		' FROM %4$I t WHERE t.audit_xid >= lo AND t.audit_xid < hi) t), ''''::bytea)',
		(SELECT string_agg(format('%I', c), ', ') FROM unnest(a.key_columns) c),
		convert_to(a.name || E'\n', 'UTF8'), a.leaf_expr, a.name),
		' || ' ORDER BY a.name COLLATE "C")
	  INTO body FROM audit_table a;
	EXECUTE format('CREATE OR REPLACE FUNCTION audit_log_data(lo bigint, hi bigint) RETURNS bytea'
	               ' LANGUAGE sql STABLE'
	               ' SET DateStyle = ''ISO, YMD'' SET IntervalStyle = ''postgres'''
	               ' SET TimeZone = ''UTC'' SET bytea_output = ''hex'''
	               ' SET extra_float_digits = 1 SET jit = off'
	               ' AS %L', 'SELECT ' || coalesce(body, '''''::bytea'));
END $$;
SELECT audit_log_define();

-- ---- the log ----

-- One row a batch: the rows of transactions in [lo, hi), size leaves
-- (their hashes, 32 bytes each, in order), the tree's root, the link.
CREATE TABLE audit_batch (
	n        bigint PRIMARY KEY CHECK (n > 0),
	lo       bigint NOT NULL,
	hi       bigint NOT NULL CHECK (hi > lo),
	size     bigint NOT NULL CHECK (size > 0),
	leaves   bytea NOT NULL CHECK (length(leaves) = 32 * size),
	root     bytea NOT NULL CHECK (length(root) = 32),
	hash     bytea NOT NULL CHECK (length(hash) = 32),
	made_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE audit_batch ALTER COLUMN leaves SET STORAGE EXTERNAL;

-- The log's head: the last batch (0: none yet, hash the old chain's head),
-- and hi, where the next batch's rows begin; start, where the first
-- batch's began (this migration's transaction: every row after it has an
-- audit_xid at or above).  Changed only by audit_log_append, on the n it read.
CREATE TABLE audit_log_head (
	one    boolean PRIMARY KEY DEFAULT true CHECK (one),
	n      bigint NOT NULL,
	hash   bytea NOT NULL CHECK (length(hash) = 32),
	hi     bigint NOT NULL,
	start  bigint NOT NULL
);
INSERT INTO audit_log_head SELECT true, 0, h.hash, audit_xact(), audit_xact() FROM audit_head h;

-- What the next batch takes (src/chain.c, sql/queries/daemon/chain.sql):
-- the head, the range, the leaves' data (audit_log_data).  Read only: the
-- batch is appended by audit_log_append on the n read here.
CREATE FUNCTION audit_log_next(OUT n bigint, OUT hash bytea, OUT lo bigint, OUT hi bigint,
                               OUT data bytea)
	LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
	SELECT h.n, h.hash, h.hi, greatest(h.hi, audit_horizon()) INTO n, hash, lo, hi
	  FROM audit_log_head h;
	data := audit_log_data(lo, hi);
END $$;

-- Append batch n + 1 when the head is still at n (another instance may
-- have appended meanwhile: then nothing, and the stage takes again).
-- Batches are contiguous: each one's lo is the hi of the one before (an
-- empty range is not appended: the next batch takes it again).  Returns
-- whether it was appended.
CREATE FUNCTION audit_log_append(prev_n bigint, lo_ bigint, hi_ bigint, size_ bigint,
                                 leaves_ bytea, root_ bytea, hash_ bytea)
	RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	UPDATE audit_log_head SET n = prev_n + 1, hash = hash_, hi = hi_
	 WHERE n = prev_n AND hi = lo_;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	INSERT INTO audit_batch (n, lo, hi, size, leaves, root, hash)
	VALUES (prev_n + 1, lo_, hi_, size_, leaves_, root_, hash_);
	RETURN true;
END $$;

-- ---- checkpoints of tree heads ----

-- Checkpoint k signs the log's head at batch n: the bytes signed are
-- audit_log_checkpoint_text(k, n, head, signed_at).  k has no gaps.
CREATE TABLE audit_log_checkpoint (
	k           bigint PRIMARY KEY CHECK (k > 0),
	n           bigint NOT NULL CHECK (n >= 0),
	head        bytea NOT NULL CHECK (length(head) = 32),
	signed_at   timestamptz NOT NULL,
	key_sha256  bytea NOT NULL CHECK (length(key_sha256) = 32),
	signature   bytea NOT NULL,
	stored_at   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_log_checkpoint_text(k bigint, n bigint, head bytea, signed_at timestamptz)
	RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT format(E'hoursd audit checkpoint v2\nk=%s\nn=%s\nhead=%s\nat=%s\n', k, n,
	                    encode(head, 'hex'), extract(epoch FROM signed_at)::bigint) $$;

SELECT audit_protect('audit_batch');
SELECT audit_protect('audit_log_checkpoint');

-- ---- the old chain's check of the rows: only the rows it holds ----

-- As 009's, for the rows stored before this migration (audit_xid NULL);
-- a row with NULL audit_xid but not in the old chain is still one
-- inserted behind hoursd's back.  The log's rows audit verify checks
-- against their batches.
CREATE OR REPLACE FUNCTION audit_check_rows(from_t timestamptz, to_t timestamptz, school bigint)
	RETURNS TABLE (tbl text, key jsonb, problem text)
	LANGUAGE plpgsql STABLE
	SET DateStyle = 'ISO, YMD' SET IntervalStyle = 'postgres' SET TimeZone = 'UTC'
	SET bytea_output = 'hex' SET extra_float_digits = 1 AS $$
DECLARE t record; keyexpr text; cond text;
BEGIN
	FOR t IN SELECT * FROM audit_table ORDER BY name LOOP
		keyexpr := audit_key_expr(t.key_columns, 't');
		cond := format('t.audit_xid IS NULL'
		               ' AND ($1::timestamptz IS NULL OR t.%1$I >= $1) AND ($2::timestamptz IS NULL OR t.%1$I < $2)'
		               ' AND ($3::bigint IS NULL OR %2$s = $3)', t.time_column, t.school_expr);
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
	IF from_t IS NULL AND to_t IS NULL AND school IS NULL THEN
		RETURN QUERY SELECT c.tbl, c.key, 'linked at ' || c.n || ', but its table is not in audit_table'
		  FROM audit_chain c WHERE c.tbl NOT IN (SELECT name FROM audit_table) ORDER BY c.n;
	END IF;
END $$;
