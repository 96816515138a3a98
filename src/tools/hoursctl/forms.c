/*
 * forms.c - a back-fill form as its file gives it (docs/students.md,
 * "Back-filled hours"): one JSON object, or a row of a CSV of forms; what
 * the form itself breaks, checked without the database; and its scan.
 */
#include "hoursd.h"
#include "students.h"
#include "common/csv.h"
#include "conf.h"
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>

#define SCAN_MAX (20 * 1024 * 1024) /* a scanned form: a few pages */

/* Mileage in km with at most one decimal ("12", "12.5") to 0.1 km. */
static bool parse_km(const char *s, long long *dkm)
{
	long long whole = 0;
	int tenth = 0;
	size_t i = 0, n = s ? strlen(s) : 0;
	if (n == 0 || n > 12)
		return false;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		whole = whole * 10 + (s[i] - '0');
	if (i == 0)
		return false;
	if (i < n) {
		if (s[i] != '.' || i + 2 != n || s[i + 1] < '0' || s[i + 1] > '9')
			return false;
		tenth = s[i + 1] - '0';
	}
	*dkm = whole * 10 + tenth;
	return true;
}

static bool parse_minutes(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = s && *s ? strtol(s, &end, 10) : -1;
	if (s == NULL || *s == '\0' || errno || *end || v < 0 || v > 100000 || s[0] == '+')
		return false;
	*out = v;
	return true;
}

/* The whole file into s (at most a byte over SCAN_MAX); why it could not be read, or NULL. */
static const char *scan_bytes(FILE *f, struct scan *s)
{
	size_t capb = 65536, n;
	s->data = malloc(capb);
	while (s->data && (n = fread(s->data + s->len, 1, capb - s->len, f)) > 0) {
		s->len += n;
		if (s->len > SCAN_MAX)
			break;
		if (s->len == capb) {
			uint8_t *p = realloc(s->data, capb *= 2);
			if (p == NULL)
				free(s->data);
			s->data = p;
		}
	}
	if (s->data == NULL)
		return "out of memory";
	if (ferror(f))
		return "read error";
	return s->len > SCAN_MAX ? "larger than 20 MiB" : NULL;
}

/* The scan's type by its first bytes: pdf, png, jpeg; NULL for anything else. */
static const char *scan_type(const struct scan *s)
{
	if (s->len >= 5 && memcmp(s->data, "%PDF-", 5) == 0)
		return "pdf";
	if (s->len >= 8 && memcmp(s->data, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "png";
	if (s->len >= 3 && memcmp(s->data, "\xFF\xD8\xFF", 3) == 0)
		return "jpeg";
	return NULL;
}

const char *forms_scan_read(const char *path, struct scan *s, char *buf, size_t cap)
{
	memset(s, 0, sizeof(*s));
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(buf, cap, "scan %.300s: %s", path, strerror(errno));
		return buf;
	}
	const char *why = scan_bytes(f, s);
	fclose(f);
	if (why == NULL && (s->type = scan_type(s)) == NULL)
		why = "not a PDF, PNG or JPEG file (the scanned paper form)";
	if (why) {
		snprintf(buf, cap, "scan %.300s: %s", path, why);
		free(s->data);
		s->data = NULL;
		return buf;
	}
	uint8_t md[32];
	EVP_Digest(s->data, s->len, md, NULL, EVP_sha256(), NULL);
	hex_encode(s->sha, md, 32);
	return NULL;
}

void forms_scan_path(const char *form_path, const char *scan, char *out, size_t cap)
{
	const char *slash = strrchr(form_path, '/');
	if (scan[0] == '/' || slash == NULL)
		snprintf(out, cap, "%s", scan);
	else
		snprintf(out, cap, "%.*s/%s", (int)(slash - form_path), form_path, scan);
}

/* The three signatures: who and when, not before the training ended; why not, or NULL. */
static const char *signatures_refusal(const struct form *f, char t[6][32], char *buf, size_t cap)
{
	const char *const *times[3][2] = {{&f->student_by, &f->student_at},
					  {&f->coach_by, &f->coach_at},
					  {&f->seal_by, &f->seal_at}};
	static const char *const names[3] = {"student_signature", "coach_signature", "school_seal"};
	for (int i = 0; i < 3; i++) {
		if (!students_valid_text(*times[i][0], 200))
			snprintf(buf, cap, "%s: who signed (\"by\") missing", names[i]);
		else if (!students_local_time(*times[i][1], t[i]))
			snprintf(buf, cap,
				 "%s: when (\"at\") as YYYY-MM-DD HH:MM (China Standard Time) "
				 "expected",
				 names[i]);
		else if (strncmp(t[i], f->to, 10) < 0)
			snprintf(buf, cap, "%s: signed %.10s, before the training ended (%s)",
				 names[i], t[i], f->to);
		else
			continue;
		return buf;
	}
	return NULL;
}

const char *forms_refusal(const struct form *f, char t[6][32], long long *dkm, char *buf,
			  size_t cap)
{
	const char *why;
	if (!students_valid_token(f->form_no, 64))
		return "form_no: 1-64 printable ASCII characters, no space";
	if (!students_valid_no16(f->student_no))
		return "student_no: 16 printable ASCII characters expected";
	if (!students_valid_text(f->school, 64))
		return "school_code: 1-64 printable characters expected";
	if (!f->part_ok || f->part < 1 || f->part > 4)
		return "part: 1 to 4 expected";
	if (!f->minutes_ok)
		return "minutes: whole numbers 0-100000 expected for vehicle, classroom, "
		       "simulator and remote";
	if (f->vehicle + f->classroom + f->simulator + f->remote == 0)
		return "minutes: all four kinds are 0";
	if (!parse_km(f->mileage_km, dkm))
		return "mileage_km: kilometres with at most one decimal expected (\"12.5\")";
	if (!students_valid_token(f->coach_no, 32))
		return "coach_no: 1-32 printable ASCII characters expected";
	if (!conf_valid_date(f->from) || !conf_valid_date(f->to))
		return "trained_from, trained_to: YYYY-MM-DD expected";
	if (strcmp(f->from, f->to) > 0)
		return "trained_from is after trained_to";
	if ((why = signatures_refusal(f, t, buf, cap)) != NULL)
		return why;
	if (!students_valid_text(f->entered_by, 200))
		return "entered_by: who entered the form is missing";
	if (!students_valid_text(f->scan, 1000))
		return "scan: the scanned paper form's file (PDF or image) is missing";
	return NULL;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool jint(json_t *o, const char *k, long *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000)
		return false;
	*out = (long)json_integer_value(v);
	return true;
}

const char *forms_from_json(json_t *o, struct form *f, char *buf, size_t cap)
{
	static const char *const known[] = {
		"form_no",	   "student_no",  "school_code",  "part",	"minutes",
		"mileage_km",	   "coach_no",	  "trained_from", "trained_to", "student_signature",
		"coach_signature", "school_seal", "entered_by",	  "scan"};
	const char *k;
	json_t *v;
	if (!json_is_object(o))
		return "one JSON object expected";
	json_object_foreach(o, k, v)
	{
		size_t i = 0;
		while (i < ARRAY_SIZE(known) && strcmp(known[i], k) != 0)
			i++;
		if (i == ARRAY_SIZE(known)) {
			snprintf(buf, cap, "unknown member \"%.40s\"", k);
			return buf;
		}
	}
	json_t *m = json_object_get(o, "minutes");
	f->form_no = jstr(o, "form_no");
	f->student_no = jstr(o, "student_no");
	f->school = jstr(o, "school_code");
	f->part_ok = jint(o, "part", &f->part);
	f->minutes_ok = json_is_object(m) && json_object_size(m) == 4 &&
			jint(m, "vehicle", &f->vehicle) && jint(m, "classroom", &f->classroom) &&
			jint(m, "simulator", &f->simulator) && jint(m, "remote", &f->remote);
	f->mileage_km = jstr(o, "mileage_km");
	f->coach_no = jstr(o, "coach_no");
	f->from = jstr(o, "trained_from");
	f->to = jstr(o, "trained_to");
	json_t *ss = json_object_get(o, "student_signature"),
	       *cs = json_object_get(o, "coach_signature"), *se = json_object_get(o, "school_seal");
	f->student_by = jstr(ss, "by");
	f->student_at = jstr(ss, "at");
	f->coach_by = jstr(cs, "by");
	f->coach_at = jstr(cs, "at");
	f->seal_by = jstr(se, "by");
	f->seal_at = jstr(se, "at");
	f->entered_by = jstr(o, "entered_by");
	f->scan = jstr(o, "scan");
	return NULL;
}

enum {
	F_NO,
	F_STUDENT,
	F_SCHOOL,
	F_PART,
	F_VEH,
	F_CLS,
	F_SIM,
	F_REM,
	F_KM,
	F_COACH,
	F_FROM,
	F_TO,
	F_SBY,
	F_SAT,
	F_CBY,
	F_CAT,
	F_SEALBY,
	F_SEALAT,
	F_ENTERED,
	F_SCAN,
	F__N
};
_Static_assert(F__N == FORMS_CSV_COLUMNS, "a name a column");
const char *const forms_csv_columns[FORMS_CSV_COLUMNS] = {
	"form_no",	     "student_no",	  "school_code",       "part",
	"vehicle_minutes",   "classroom_minutes", "simulator_minutes", "remote_minutes",
	"mileage_km",	     "coach_no",	  "trained_from",      "trained_to",
	"student_signed_by", "student_signed_at", "coach_signed_by",   "coach_signed_at",
	"sealed_by",	     "sealed_at",	  "entered_by",	       "scan"};

void forms_from_csv(const struct csv *c, struct form *f)
{
	f->form_no = csv_get(c, F_NO);
	f->student_no = csv_get(c, F_STUDENT);
	f->school = csv_get(c, F_SCHOOL);
	f->part_ok = parse_minutes(csv_get(c, F_PART), &f->part);
	f->minutes_ok = parse_minutes(csv_get(c, F_VEH), &f->vehicle) &&
			parse_minutes(csv_get(c, F_CLS), &f->classroom) &&
			parse_minutes(csv_get(c, F_SIM), &f->simulator) &&
			parse_minutes(csv_get(c, F_REM), &f->remote);
	f->mileage_km = csv_get(c, F_KM);
	f->coach_no = csv_get(c, F_COACH);
	f->from = csv_get(c, F_FROM);
	f->to = csv_get(c, F_TO);
	f->student_by = csv_get(c, F_SBY);
	f->student_at = csv_get(c, F_SAT);
	f->coach_by = csv_get(c, F_CBY);
	f->coach_at = csv_get(c, F_CAT);
	f->seal_by = csv_get(c, F_SEALBY);
	f->seal_at = csv_get(c, F_SEALAT);
	f->entered_by = csv_get(c, F_ENTERED);
	f->scan = csv_get(c, F_SCAN);
}
