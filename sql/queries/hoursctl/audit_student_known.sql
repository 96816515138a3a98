-- hoursctl explain: whether anything is known of a student ($1 = student
-- number): a training record (accepted or not), progress, an enrolment
-- or a licence held.  One row, one boolean.
-- columns: ?column? (known)
SELECT EXISTS (SELECT 1 FROM training_record WHERE student_no = $1)
    OR EXISTS (SELECT 1 FROM progress WHERE student_no = $1)
    OR EXISTS (SELECT 1 FROM student WHERE student_no = $1)
    OR EXISTS (SELECT 1 FROM licence_held WHERE student_no = $1)
