-- 025_stored_leaf.sql - a training record's leaf is stored with its row
-- (docs/audit.md, "A training record's leaf").
--
-- * hoursd computes the leaf hash of each training record it stores
--   (src/merkle.c, merkle_record_leaf) from the values the row gets, in the
--   byte layout of 015's leaf_expr, and stores it in the new column leaf;
--   so PostgreSQL builds no leaf for a record, neither when the chain stage
--   makes a batch nor before a checkpoint: it hands the stored hash over.
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

-- As 015's, but a row's stored leaf hash goes as it is, after the length
-- 0x80000020 (the top bit set: a hash, not data to hash; src/merkle.c,
-- merkle_leaves); the leaf's data when the row has none.
CREATE OR REPLACE FUNCTION audit_log_define() RETURNS void LANGUAGE plpgsql AS $$
DECLARE body text;
BEGIN
	SELECT string_agg(format(
		'coalesce((SELECT string_agg(%3$s, ''''::bytea'
		' ORDER BY x, %1$s) FROM (SELECT %2$s AS d, %5$s AS s, t.audit_xid AS x, %1$s'
		' FROM %4$I t WHERE t.audit_xid >= lo AND t.audit_xid < hi) t), ''''::bytea)',
		(SELECT string_agg(format('%I', c), ', ') FROM unnest(a.key_columns) c),
		CASE WHEN a.stored_leaf
		     THEN format('CASE WHEN t.leaf IS NOT NULL THEN t.leaf ELSE %L::bytea || %s END',
		                 convert_to(a.name || E'\n', 'UTF8'), a.leaf_expr)
		     ELSE format('%L::bytea || %s', convert_to(a.name || E'\n', 'UTF8'), a.leaf_expr) END,
		CASE WHEN a.stored_leaf
		     THEN 'CASE WHEN s THEN ''\x80000020''::bytea || d ELSE int4send(octet_length(d)) || d END'
		     ELSE 'int4send(octet_length(d)) || d' END,
		a.name,
		CASE WHEN a.stored_leaf THEN 't.leaf IS NOT NULL' ELSE 'false' END),
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
