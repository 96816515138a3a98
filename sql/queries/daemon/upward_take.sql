-- Master data upward (023): the pusher takes the first open item when it
-- is due ($1 = lease in seconds): one at a time, in id order, so that a
-- coach goes after its school and a binding after its terminal.  Marked
-- 'sending' with the attempt counted and the next attempt at the lease's
-- end; an instance that finds the head taken by another gets no row.
-- Columns: 0 id, 1 kind, 2 method, 3 attempt, 4 the answers of errorcode
-- 1 so far, 5 the kept body (NULL: not built yet), 6 the members to build
-- it from (NULL when kept, or when the row is gone), 7 the path's number
-- (DELETE).
-- columns: id, kind, method, attempts, failed_1, body, members, key
WITH head AS (
  SELECT id FROM upward_item WHERE state IN ('pending', 'sending') ORDER BY id LIMIT 1),
t AS (
  UPDATE upward_item u
     SET state = 'sending', attempts = u.attempts + 1,
         next_attempt = now() + make_interval(secs => $1::int)
   WHERE u.id = (SELECT id FROM head) AND u.state IN ('pending', 'sending')
     AND u.next_attempt <= now()
  RETURNING u.*)
SELECT t.id, t.kind, t.method, t.attempts, t.failed_1, t.body,
       CASE WHEN t.body IS NULL AND t.method = 'POST' THEN upward_members(t)::text END AS members,
       t.key
  FROM t
