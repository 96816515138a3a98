-- MERGER: FILL THIS IN.  The student's back-filled forms (补录单) of a part,
-- for the teaching log's section "back-filled hours" ($1 = student number,
-- $2 = part).  The forms live in a table of the enrolment/back-fill branch
-- (migration 011) that this branch does not have yet, so this returns no
-- row; src/teachlog.c already prints every row it returns.
-- Columns: 0 form number, 1 vehicle, 2 classroom, 3 simulator, 4 remote
-- minutes, 5 mileage (km, text), 6 coach, 7 the three confirmations as one
-- line of text (student signed / coach signed / school sealed: who and
-- when), 8 approved by and when, 9 the scanned form's SHA-256 (hex).
SELECT NULL::text, 0, 0, 0, 0, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text
 WHERE false AND $1::text IS NULL AND $2::int IS NULL
