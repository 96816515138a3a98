-- backfill_decide.sql - a supervisor's decision on a form (hoursctl
-- backfill approve|reject): $1 form, $2 'approved' or 'rejected', $3 by,
-- $4 note.  A new step row, once per form (backfill_step_decided); an
-- approval queues the student for the judge (judge_recheck), which counts
-- the form and makes the part's packet if it is met now.  One row: the
-- form found, the step written, the decision made before (NULL: none),
-- the student, the part and its packet ('' when none).
-- columns: exists (found), exists (written), ?column? (before), student_no,
--   part, coalesce (packet)
WITH f AS (SELECT form_no, student_no, part FROM backfill_form WHERE form_no = $1),
ins AS (
  INSERT INTO backfill_step (form_no, step, by_name, note)
  SELECT form_no, $2, $3, $4 FROM f
  ON CONFLICT DO NOTHING
  RETURNING form_no),
rc AS (
  INSERT INTO judge_recheck (student_no)
  SELECT student_no FROM f WHERE $2 = 'approved' AND EXISTS (SELECT 1 FROM ins)
  ON CONFLICT DO NOTHING)
SELECT EXISTS (SELECT 1 FROM f), EXISTS (SELECT 1 FROM ins),
       (SELECT d.step || ' by ' || d.by_name || ' on '
               || local_minute(d.at)
          FROM backfill_step d WHERE d.form_no = $1 AND d.step IN ('approved', 'rejected')),
       (SELECT student_no FROM f), (SELECT part FROM f),
       coalesce((SELECT p.id::text || ' (' || p.state || ', '
                        || CASE WHEN p.backfilled THEN 'back-filled' ELSE 'terminals only' END
                        || ')'
                   FROM push_packet p JOIN f ON p.student_no = f.student_no AND p.part = f.part),
                '')
