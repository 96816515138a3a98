-- The national profile's body, kept with the packet before it is sent as
-- push_save.sql keeps the contract's ($1 = packet id, $2 = body, $3 =
-- attempt), with the id the platform gave the uploaded teaching-log PDF
-- ($4, the body's pdfid) and the PDF's SHA-256 ($5, hex).  coalesce keeps
-- what was written before; the attempt and the state guard the lease.
-- Column: the body to send; no row when the lease passed to another attempt.
-- columns: body
UPDATE push_packet SET body = coalesce(body, $2),
       pdf_id = CASE WHEN body IS NULL THEN $4 ELSE pdf_id END,
       pdf_sha256 = CASE WHEN body IS NULL THEN decode($5, 'hex') ELSE pdf_sha256 END,
       profile = CASE WHEN body IS NULL THEN 'national' ELSE profile END
 WHERE id = $1::uuid AND attempts = $3::int AND state = 'sending'
RETURNING body
