-- schedule_covers.sql - whether a student login's time ($2, seconds since
-- the epoch) is inside a schedule slot of the student ($1): one row, true
-- or false (rules.schedule decides what an outside login earns).
-- columns: inside
SELECT EXISTS (SELECT 1 FROM schedule_slot
                WHERE student_no = $1 AND starts_at <= to_timestamp($2::bigint)
                  AND ends_at > to_timestamp($2::bigint)) AS inside
