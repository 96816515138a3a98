-- Master data upward (023): the pusher takes the first open item when it
-- is due ($1 = lease in seconds): one at a time, in id order, so that a
-- coach goes after its school and a binding after its terminal.  Marked
-- 'sending' with the attempt counted and the next attempt at the lease's
-- end; an instance that finds the head taken by another gets no row.
-- A lesson's teaching log (028) waits while the judge has not decided
-- all of the lesson's records; one the stage hours' path sent already
-- (teaching_log_sent), or of a lesson that counted no minute, is done
-- without a call (skip).  A lesson's photo (028): its file (stuimg) or its
-- record (trainimginfo), upward_photo_members().
-- Columns: 0 id, 1 kind, 2 method, 3 attempt, 4 the answers of errorcode
-- 1 so far, 5 the kept body (NULL: not built yet), 6 the members to build
-- it from (NULL when kept, or when the row is gone), 7 the path's number
-- (DELETE).
-- columns: id, kind, method, attempts, failed_1, body, members, key
WITH skip AS (
  UPDATE upward_item u
     SET state = 'done', done_at = now(),
         last_error = CASE WHEN EXISTS (SELECT 1 FROM teaching_log_sent s
                                     WHERE s.recnum = classrecord_recnum(u.ref, u.lesson_at))
                       THEN 'not sent: accepted already with the stage hours'
                       ELSE 'not sent: the lesson counted no minute' END
   WHERE u.kind = 'classrecord' AND u.state = 'pending' AND u.body IS NULL
     AND u.id = (SELECT min(id) FROM upward_item WHERE state IN ('pending', 'sending'))
     AND (EXISTS (SELECT 1 FROM teaching_log_sent s
                   WHERE s.recnum = classrecord_recnum(u.ref, u.lesson_at))
          OR (classrecord_members(u.ref, u.lesson_at, u.person_no) IS NULL
              AND NOT EXISTS (SELECT 1 FROM record_verdict r
                               WHERE r.terminal_id = u.ref AND r.session_login_at = u.lesson_at
                                 AND r.student_no = u.person_no AND r.verdict = 'pending')))
  RETURNING u.id),
head AS (
  SELECT id FROM upward_item
   WHERE state IN ('pending', 'sending') AND id NOT IN (SELECT id FROM skip)
   ORDER BY id LIMIT 1),
t AS (
  UPDATE upward_item u
     SET state = 'sending', attempts = u.attempts + 1,
         next_attempt = now() + make_interval(secs => $1::int)
   WHERE u.id = (SELECT id FROM head) AND u.state IN ('pending', 'sending')
     AND u.next_attempt <= now()
     AND NOT (u.kind = 'classrecord' AND u.body IS NULL
              AND EXISTS (SELECT 1 FROM record_verdict r
                           WHERE r.terminal_id = u.ref AND r.session_login_at = u.lesson_at
                             AND r.student_no = u.person_no AND r.verdict = 'pending'))
  RETURNING u.*)
SELECT t.id, t.kind, t.method, t.attempts, t.failed_1, t.body,
       CASE WHEN t.body IS NOT NULL OR t.method <> 'POST' THEN NULL
            WHEN t.kind = 'classrecord' THEN classrecord_members(t.ref, t.lesson_at, t.person_no)::text
            WHEN t.kind IN ('stuimg', 'trainimginfo') THEN upward_photo_members(t)::text
            WHEN t.kind = 'region' THEN upward_region_members(t)::text
            ELSE upward_members(t)::text END AS members,
       t.key
  FROM t
