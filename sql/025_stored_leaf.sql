-- 025_stored_leaf.sql - a training record's leaf is stored with its row
-- (docs/audit.md, "A training record's leaf").
--
-- * hoursd computes the leaf hash of each training record it stores
--   (src/merkle.c, merkle_record_leaf) from the values the row gets, in the
--   byte layout of 015's leaf_expr, and stores it in the new column leaf;
--   so PostgreSQL builds no leaf for a record when the chain stage makes a
--   batch: it hands the stored hash over.  Before a checkpoint the chain
--   stage still checks the batches against leaves from the columns.
-- * A batch's leaves are read in no particular order (below).
-- * What a leaf binds is unchanged: the same columns, the same bytes, the
--   same hash.  audit verify and audit check-proof recompute it from the
--   row's columns (not from the column leaf), so a changed column is still
--   caught, and the batches made before this migration stay as they are.
-- * A row without a leaf (stored before this migration, or by a writer
--   other than hoursd's ingest) has its leaf computed in SQL, as before:
--   nothing is converted, nothing to convert.

ALTER TABLE training_record ADD COLUMN leaf bytea CHECK (octet_length(leaf) = 32);

-- Tables whose rows may carry their leaf hash in a column leaf.
ALTER TABLE audit_table ADD COLUMN stored_leaf boolean NOT NULL DEFAULT false;
UPDATE audit_table SET stored_leaf = true WHERE name = 'training_record';

-- As 015's audit_log_data, two of them:
-- * audit_log_data(lo, hi), what the chain stage makes a batch of: a row's
--   stored leaf hash goes as it is, after the length 0x80000020 (the top
--   bit set: a hash, not data to hash; src/merkle.c, merkle_leaves); the
--   leaf's data when the row has none;
-- * audit_log_recomputed(lo, hi), what it checks the batches against
--   before a checkpoint: every leaf's data from the row's columns, never
--   the stored hash, so that a column changed since is caught there too;
-- both in no order but the one PostgreSQL reads the rows in (table by
-- table, by name): sorting them by key cost more than all the rest.  A
-- batch stores its leaves in the order it read them and its tree is built
-- in that order; whoever reads them again (the chain stage before a
-- checkpoint, audit verify) compares them as a set with the batch's.
CREATE OR REPLACE FUNCTION audit_log_define() RETURNS void LANGUAGE plpgsql AS $$
DECLARE body text; stored boolean;
BEGIN
	FOREACH stored IN ARRAY ARRAY[true, false] LOOP
		SELECT string_agg(format(
			'coalesce((SELECT string_agg(%1$s, ''''::bytea)'
			' FROM (SELECT %2$s AS d, %3$s AS s'
			' FROM %4$I t WHERE t.audit_xid >= lo AND t.audit_xid < hi) t), ''''::bytea)',
			CASE WHEN stored AND a.stored_leaf
			     THEN 'CASE WHEN s THEN ''\x80000020''::bytea || d'
			          ' ELSE int4send(octet_length(d)) || d END'
			     ELSE 'int4send(octet_length(d)) || d' END,
			CASE WHEN stored AND a.stored_leaf
			     THEN format('CASE WHEN t.leaf IS NOT NULL THEN t.leaf ELSE %L::bytea || %s END',
			                 convert_to(a.name || E'\n', 'UTF8'), a.leaf_expr)
			     ELSE format('%L::bytea || %s', convert_to(a.name || E'\n', 'UTF8'),
			                 a.leaf_expr) END,
			CASE WHEN stored AND a.stored_leaf THEN 't.leaf IS NOT NULL' ELSE 'false' END,
			a.name),
			' || ' ORDER BY a.name COLLATE "C")
		  INTO body FROM audit_table a;
		EXECUTE format('CREATE OR REPLACE FUNCTION %I(lo bigint, hi bigint) RETURNS bytea'
		               ' LANGUAGE sql STABLE'
		               ' SET DateStyle = ''ISO, YMD'' SET IntervalStyle = ''postgres'''
		               ' SET TimeZone = ''UTC'' SET bytea_output = ''hex'''
		               ' SET extra_float_digits = 1 SET jit = off'
		               ' AS %L',
		               CASE WHEN stored THEN 'audit_log_data' ELSE 'audit_log_recomputed' END,
		               'SELECT ' || coalesce(body, '''''::bytea'));
	END LOOP;
END $$;
SELECT audit_log_define();
