/*
 * push_body.h - what the pusher sends for a packet (docs/push-contract.md
 * sections 2 to 4 and 6): the canonical body, renamed by the field map,
 * and the encoding of its signature.  Pure functions, no I/O.
 *
 * The signature is over the body's bytes exactly as push_body_build
 * returns them (the body is kept with the packet, so every attempt sends
 * and signs the same bytes); X-Hoursd-Signature carries it in base64.
 */
#ifndef HOURSD_PUSH_BODY_H
#define HOURSD_PUSH_BODY_H

#include "hoursd.h"

typedef struct json_t json_t;

/* The largest signature made (DER): RSA of 4096 bits. */
#define PUSH_SIG_MAX 512

/*
 * A field map (docs/push-contract.md section 6) from JSON text: an object
 * of contract name -> new name.  NULL with err when it breaks a rule.
 */
json_t *push_field_map_parse(const char *text, size_t len, char *err, size_t errlen);

/* The contract's body values, as gathered in SQL (sql/queries/daemon/push_take.sql). */
struct push_fields {
	const char *packet_id, *school_code, *student_no, *id_card_sha256; /* id card: NULL */
	const char *vehicle_class, *mileage_km, *first_minute, *last_minute;
	const char *records_sha256, *backfill_form, *created_at; /* backfill_form: NULL */
	int part;
	long long vehicle, simulator, classroom, remote, record_count;
	long long backfilled_minutes; /* of the total, what back-fill forms added */
	bool backfilled;
};
/* The canonical body (malloc'd), renamed by map (NULL: none); NULL with err. */
char *push_body_build(const struct push_fields *f, const json_t *map, char *err, size_t errlen);

/*
 * X-Hoursd-Signature's value: standard base64 with padding and no line
 * breaks of the n bytes of sig, into out (at least 4 * ((n + 2) / 3) + 1
 * bytes).
 */
void push_signature_base64(const uint8_t *sig, size_t n, char *out);

#endif
