-- hoursctl report import-police: one school's figures of a quarter ($1
-- quarter, $2 school code, $3 pass rate, $4 violation rate, $5 accident
-- rate, $6 the file); a second import replaces them.  No row returned:
-- no such school.
-- columns: school_id
INSERT INTO police_figures (quarter, school_id, pass_rate, violation_rate, accident_rate, source)
SELECT $1, s.id, $3::numeric, $4::numeric, $5::numeric, $6
  FROM school s WHERE s.code = $2
    ON CONFLICT (quarter, school_id) DO UPDATE
   SET pass_rate = EXCLUDED.pass_rate, violation_rate = EXCLUDED.violation_rate,
       accident_rate = EXCLUDED.accident_rate, source = EXCLUDED.source,
       imported_at = now(), imported_by = current_user
RETURNING school_id
