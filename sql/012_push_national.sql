-- 012_push_national.sql - the national stage-hours profile of the push
-- (docs/push-contract.md, "The national profile"): the teaching-log PDF
-- uploaded before the body, and the platform's later review.

-- Per packet: the id the platform gave the uploaded teaching-log PDF
-- (/imageup/epdfimg, sent as pdfid) and the PDF's SHA-256, kept with the
-- body so that every attempt sends the same pdfid; the profile the body
-- was built under ('hoursd' or 'national'; NULL: built before 012).
ALTER TABLE push_packet
	ADD COLUMN pdf_id      text,
	ADD COLUMN pdf_sha256  bytea CHECK (length(pdf_sha256) = 32),
	ADD COLUMN profile     text CHECK (profile IN ('hoursd', 'national'));

-- The review of a packet's stage hours as the national platform answers
-- GET /{stunum}-stagetrainningtimereview-{subject} (fetched after the
-- packet is accepted, when push.national_review is on): the last answer
-- fetched, one row per packet.
CREATE TABLE push_review (
	packet_id    uuid PRIMARY KEY REFERENCES push_packet,
	fetched_at   timestamptz NOT NULL DEFAULT now(),
	errorcode    integer NOT NULL,
	valid        integer,          -- 1: approved
	validtime    integer,          -- minutes the supervisor counted
	needfultime  integer,          -- minutes required
	pdfid        text,             -- the supervisor-signed PDF
	recarray     jsonb,            -- [{rnum, reason}] per rejected record
	answer       text NOT NULL     -- the answer as received (cut at 4 KiB)
);

-- The audit's roles (009, docs/audit.md): the police liaison reads what
-- the platform answered of what was pushed; a district auditor, the
-- reviews of its district's packets.
INSERT INTO audit_liaison_table VALUES ('push_review');
SELECT audit_scope('push_review', 'packet_id IN (SELECT id FROM push_packet)');

-- The school a student's part is pushed under, in the body (school_code,
-- inscode) and in its teaching log alike: the school of the terminals
-- that recorded most of the part's counted records (a tie: the smaller
-- code), else the school that enrolled the student.
CREATE FUNCTION packet_school(p_student text, p_part smallint) RETURNS bigint
	LANGUAGE sql STABLE AS $$
	SELECT coalesce(
	  (SELECT s.id FROM record_verdict r
	     JOIN terminal te ON te.id = r.terminal_id
	     JOIN school s ON s.id = te.school_id
	    WHERE r.student_no = p_student AND r.part = p_part AND r.verdict = 'accepted'
	    GROUP BY s.id, s.code ORDER BY count(*) DESC, s.code LIMIT 1),
	  (SELECT st.school_id FROM student st WHERE st.student_no = p_student)) $$;
