-- backfill_list.sql - hoursctl backfill list [--state S] ($1: pending,
-- approved or rejected; NULL: all), oldest first.  Columns: form,
-- student, part, minutes (all kinds), state, entered by, entered (UTC+8),
-- decided by ('' when pending).
-- columns: form_no, student_no, part, ?column? (minutes), state, entered_by,
--   to_char (entered_at), coalesce (decided_by)
SELECT f.form_no, f.student_no, f.part, f.vehicle + f.simulator + f.classroom + f.remote,
       st.state, f.entered_by,
       to_char(local_clock(f.entered_at), 'YYYY-MM-DD HH24:MI"+08"'),
       coalesce(st.decided_by, '')
  FROM backfill_form f JOIN backfill_state st USING (form_no)
 WHERE $1::text IS NULL OR st.state = $1
 ORDER BY f.entered_at, f.form_no
