-- The platform's reviewmsg notice of a stage review ($1 = student number,
-- $2 = subject, the part): its fetch due now.  Column: the packets named
-- (none: no such stage hours pushed here).
-- columns: id
UPDATE push_packet SET review_due = now()
 WHERE student_no = $1 AND part = $2::int AND state = 'done' AND profile = 'national'
RETURNING id
