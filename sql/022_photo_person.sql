-- 022_photo_person.sql - a student's photos found without reading every
-- photo: the printed teaching log (hoursctl explain --pdf) draws them.
CREATE INDEX photo_person ON photo (person_no, taken_at);
