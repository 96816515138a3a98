/*
 * push_body.c - the body a packet is pushed with, see push_body.h and
 * docs/push-contract.md sections 3, 4 and 6.
 *
 * jansson writes it: compact, members sorted by name (after the field
 * map renamed them), strings escaped its one way, so the same values
 * always make the same bytes.
 */
#include "hoursd.h"
#include "push_body.h"

#include <jansson.h>
#include <openssl/evp.h>

#define MAX_NAME 64 /* a field map's new name */

/* The contract's members (section 3), in its order. */
static const char *const members[] = {
	"packet_id",
	"version",
	"school_code",
	"student_no",
	"id_card_sha256",
	"vehicle_class",
	"part",
	"subject",
	"total_minutes",
	"vehicle_minutes",
	"simulator_minutes",
	"classroom_minutes",
	"remote_minutes",
	"mileage_km",
	"first_minute",
	"last_minute",
	"record_count",
	"records_sha256",
	"backfilled",
	"backfill_form",
	"backfilled_minutes",
	"created_at",
};

static bool is_member(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(members); i++)
		if (strcmp(members[i], name) == 0)
			return true;
	return false;
}

/* A new name: 1-64 bytes of printable ASCII without space, quote or backslash. */
static bool name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	if (len == 0 || len > MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++)
		if (n[i] < 0x21 || n[i] > 0x7e || n[i] == '"' || n[i] == '\\')
			return false;
	return true;
}

json_t *push_field_map_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t e;
	json_t *m = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	const char *k, *k2;
	json_t *v, *v2;

	if (!json_is_object(m)) {
		if (m)
			snprintf(err, errlen, "one JSON object expected");
		else
			snprintf(err, errlen, "line %d: %s", e.line, e.text);
		goto bad;
	}
	json_object_foreach(m, k, v)
	{
		const char *n = json_string_value(v);
		if (!is_member(k)) {
			snprintf(err, errlen, "\"%.64s\" is not a member of the contract's body",
				 k);
			goto bad;
		}
		if (!name_ok(n)) {
			snprintf(err, errlen,
				 "%s: the new name must be 1-%d bytes of printable ASCII, "
				 "no space, quote or backslash",
				 k, MAX_NAME);
			goto bad;
		}
		/* A member's name, unless that member is renamed too. */
		if (is_member(n) && strcmp(n, k) != 0 && json_object_get(m, n) == NULL) {
			snprintf(err, errlen, "%s: \"%s\" is the name of another member", k, n);
			goto bad;
		}
		json_object_foreach(m, k2, v2)
		{
			if (k2 != k && strcmp(k2, k) != 0 &&
			    strcmp(json_string_value(v2) ? json_string_value(v2) : "", n) == 0) {
				snprintf(err, errlen, "%s and %s are both renamed \"%s\"", k, k2,
					 n);
				goto bad;
			}
		}
	}
	return m;
bad:
	json_decref(m);
	return NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *push_body_build(const struct push_fields *f, const json_t *map, char *err, size_t errlen)
{
	if (f->part < 1 || f->part > 4 || !f->school_code || !f->first_minute || !f->last_minute ||
	    !f->mileage_km || !f->records_sha256 || !f->created_at) {
		snprintf(err, errlen, "%s",
			 !f->school_code    ? "no school code: the records' terminals and the "
					      "student belong to no school"
			 : !f->first_minute ? "no progress row for the student and part"
					    : "a member is missing");
		return NULL;
	}
	if (f->backfilled != (f->backfill_form != NULL)) {
		snprintf(err, errlen, "back-filled minutes without a back-fill form");
		return NULL;
	}
	long long total = f->vehicle + f->simulator + f->classroom + f->remote;
	json_t *v[ARRAY_SIZE(members)] = {
		json_string(f->packet_id),
		json_integer(1),
		json_string(f->school_code),
		json_string(f->student_no),
		str_or_null(f->id_card_sha256),
		json_string(f->vehicle_class),
		json_integer(f->part),
		json_integer(f->part), /* subject n opens with part n (the contract's table) */
		json_integer(total),
		json_integer(f->vehicle),
		json_integer(f->simulator),
		json_integer(f->classroom),
		json_integer(f->remote),
		json_string(f->mileage_km),
		json_string(f->first_minute),
		json_string(f->last_minute),
		json_integer(f->record_count),
		json_string(f->records_sha256),
		json_boolean(f->backfilled),
		str_or_null(f->backfill_form),
		json_integer(f->backfilled ? f->backfilled_minutes : 0),
		json_string(f->created_at),
	};
	json_t *o = json_object();
	bool ok = o != NULL;
	for (size_t i = 0; i < ARRAY_SIZE(members); i++) {
		const char *name = map ? json_string_value(json_object_get(map, members[i])) : NULL;
		/* A NULL value: a string that is not UTF-8, or no memory. */
		ok = ok && v[i] && json_object_set_new(o, name ? name : members[i], v[i]) == 0;
		if (!ok && v[i])
			json_decref(v[i]);
	}
	char *body = ok ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (body == NULL)
		snprintf(err, errlen, "a value is not UTF-8 text (or out of memory)");
	return body;
}

void push_signature_base64(const uint8_t *sig, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, sig, (int)n);
}
