-- student_held_set.sql - the licence a student already holds ($1 student
-- number, $2 class): recorded or replaced, and the student queued for the
-- judge to look at again (the adding-class figures may make a part ready).
-- Returns the class recorded.
-- columns: held_class
WITH h AS (
  INSERT INTO licence_held (student_no, held_class) VALUES ($1, $2)
  ON CONFLICT (student_no) DO UPDATE
  SET held_class = EXCLUDED.held_class, noted_at = now(), noted_by = current_user
  RETURNING held_class),
r AS (
  INSERT INTO judge_recheck (student_no) VALUES ($1) ON CONFLICT DO NOTHING)
SELECT held_class FROM h
