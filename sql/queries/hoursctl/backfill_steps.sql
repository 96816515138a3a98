-- backfill_steps.sql - every step on a form ($1), in order: step, by,
-- when (UTC+8), the database user, note ('' when none).
-- columns: step, by_name, to_char (at), db_user, coalesce (note)
SELECT step, by_name,
       to_char(local_clock(at), 'YYYY-MM-DD HH24:MI:SS"+08"'), db_user,
       coalesce(note, '')
  FROM backfill_step WHERE form_no = $1
 ORDER BY at, CASE step WHEN 'imported' THEN 0 ELSE 1 END
