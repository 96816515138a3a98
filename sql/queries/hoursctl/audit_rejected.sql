-- hoursctl explain: every minute of a student ($1 = student number) that
-- did not count, refused by ingest or by the judge (record_verdict).  Columns: record time (UTC+8), record number, terminal
-- number, part, reason.
-- columns: to_char (record_time), record_no, phone, part, reason
SELECT to_char(local_clock(r.record_time), 'YYYY-MM-DD HH24:MI:SS"+08"'),
       r.record_no, t.phone, r.part, r.reason
  FROM record_verdict r
  JOIN terminal t ON t.id = r.terminal_id
 WHERE r.student_no = $1 AND r.verdict = 'rejected'
 ORDER BY r.record_time, r.record_no
