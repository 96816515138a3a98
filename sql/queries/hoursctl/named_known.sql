-- hoursctl's lists and shows: whether the thing a filter names exists, so
-- that "no such thing" is an error and not an empty list ($1: school,
-- student or terminal; $2: its code, student number or terminal number).
-- columns: known
SELECT CASE $1::text
         WHEN 'school' THEN EXISTS (SELECT 1 FROM school WHERE code = $2)
         WHEN 'student' THEN EXISTS (SELECT 1 FROM student WHERE student_no = $2)
         WHEN 'terminal' THEN EXISTS (SELECT 1 FROM terminal WHERE phone = $2)
       END AS known
