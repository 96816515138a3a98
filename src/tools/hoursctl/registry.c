/*
 * registry.c - hoursctl coach and vehicle: the registry the notice
 * supervises (docs/registry.md).  Coaches and training vehicles with the
 * fields of the national supervision interface (/coach, /trainingcar),
 * each school's, with their history; the terminals bound to the vehicles
 * (/devassign).  The files are hostile input, read as the students' are
 * (students.h): each bad row said as FILE:LINE: reason, every good row
 * stored, a file imported again changes nothing.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "students.h"
#include "common/csv.h"
#include "common/out.h"
#include "common/pgq.h"
#include "conf.h"
#include "queries.h"

/* ---- checks ---- */

/*
 * A list of licence classes as the files write it, "C1 C2" (or with ',',
 * ';' or '/'), into a PostgreSQL array literal "{C1,C2}"; empty: "{}".
 */
static bool class_list(const char *in, bool need_one, char *out, size_t cap)
{
	size_t o = 0;
	int n = 0;
	out[o++] = '{';
	for (const char *p = in ? in : ""; *p;) {
		size_t k = strcspn(p, " ,;/");
		if (k > 0) {
			char c[4];
			if (k > 2)
				return false;
			memcpy(c, p, k);
			c[k] = '\0';
			if (!students_valid_class(c) || o + k + 3 > cap)
				return false;
			if (n++)
				out[o++] = ',';
			memcpy(out + o, c, k);
			o += k;
		}
		p += k + (p[k] != '\0');
	}
	out[o++] = '}';
	out[o] = '\0';
	return n > 0 || !need_one;
}

static bool opt_date(const char *s)
{
	return s == NULL || conf_valid_date(s);
}

static bool small_digit(const char *s)
{
	return s == NULL || (s[0] >= '0' && s[0] <= '9' && s[1] == '\0');
}

/* "" as NULL: an optional column left empty. */
static const char *opt(const char *s)
{
	return s && s[0] ? s : NULL;
}

/* A fact as show prints it: "-" when none is recorded. */
static const char *dash(const char *s)
{
	return s[0] ? s : "-";
}

/* ---- coaches ---- */

struct coach_fields {
	const char *coach_no, *school, *name, *id_card, *licence_no, *licensed_on;
	const char *occupation_no, *occupation_level, *drive, *teach, *employ, *hired_on, *left_on;
	char drive_a[64], teach_a[64];
};

static const char *coach_refusal(struct coach_fields *f, char *buf, size_t cap)
{
	if (!students_valid_no16(f->coach_no))
		return "coach number: 16 printable ASCII characters expected";
	if (!students_valid_text(f->school, 64))
		return "school code: 1-64 printable characters expected";
	if (!students_valid_text(f->name, 64))
		return "name: 1-64 characters expected";
	if (f->id_card && !students_valid_id_card(f->id_card))
		return "identity-card number: 17 digits and a check character (0-9 or X) that "
		       "matches them expected";
	if (f->licence_no && !students_valid_token(f->licence_no, 32))
		return "driving licence number: 1-32 printable ASCII characters expected";
	if (!opt_date(f->licensed_on))
		return "licence date: YYYY-MM-DD expected";
	if (f->occupation_no && !students_valid_token(f->occupation_no, 32))
		return "occupation certificate number: 1-32 printable ASCII characters expected";
	if (!small_digit(f->occupation_level))
		return "occupation level: one digit expected";
	if (!class_list(f->teach, true, f->teach_a, sizeof(f->teach_a)))
		return "classes taught: one or more licence classes expected (C1 C2)";
	if (!class_list(f->drive, false, f->drive_a, sizeof(f->drive_a)))
		return "classes driven: licence classes expected (C1 C2)";
	if (!small_digit(f->employ))
		return "employment status: one digit expected (0 employed, 1 left)";
	if (!opt_date(f->hired_on) || !opt_date(f->left_on))
		return "hire and leave dates: YYYY-MM-DD expected";
	if (f->hired_on && f->left_on && strcmp(f->left_on, f->hired_on) < 0) {
		snprintf(buf, cap, "leave date %s is before the hire date %s", f->left_on,
			 f->hired_on);
		return buf;
	}
	return NULL;
}

/* The statement's outcome (static), NULL on a database error. */
static const char *outcome_of(PGresult *r)
{
	static char out[24];
	if (r == NULL)
		return NULL;
	snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static const char *coach_put(const struct coach_fields *f)
{
	const char *v[13] = {f->coach_no,
			     f->school,
			     f->name,
			     f->id_card,
			     f->licence_no,
			     f->licensed_on,
			     f->occupation_no,
			     f->occupation_level,
			     f->drive_a,
			     f->teach_a,
			     f->employ ? f->employ : "0",
			     f->hired_on,
			     f->left_on};
	return outcome_of(pgq_query(sql_coach_put, 13, v));
}

/* Why the database refused, or NULL when it took the facts (added ... moved). */
static const char *put_refusal(const char *o, const char *what, const char *key, const char *school,
			       char *buf, size_t cap)
{
	if (strcmp(o, "no_school") == 0)
		snprintf(buf, cap, "no school %s (hoursctl school add)", school);
	else if (strcmp(o, "retired") == 0)
		snprintf(buf, cap, "%s %s is retired: nothing changed", what, key);
	else if (strcmp(o, "number_taken") == 0)
		snprintf(buf, cap, "the vehicle number is another vehicle's: nothing changed");
	else
		return NULL;
	return buf;
}

/* coach add COACH --school CODE --name NAME --teach CLASSES [...] */
int registry_coach_add(const struct args *a)
{
	char buf[256];
	struct coach_fields f = {.coach_no = a->pos[0],
				 .school = a->opt[0],
				 .name = a->opt[1],
				 .teach = a->opt[2],
				 .id_card = a->opt[3],
				 .licence_no = a->opt[4],
				 .licensed_on = a->opt[5],
				 .occupation_no = a->opt[6],
				 .occupation_level = a->opt[7],
				 .drive = a->opt[8],
				 .employ = a->opt[9],
				 .hired_on = a->opt[10],
				 .left_on = a->opt[11]};
	if (f.school == NULL || f.name == NULL || f.teach == NULL) {
		fprintf(stderr, "hoursctl: coach add: --school, --name and --teach are required\n");
		return 2;
	}
	const char *why = coach_refusal(&f, buf, sizeof(buf));
	if (why) {
		fprintf(stderr, "hoursctl: coach add: %s\n", why);
		return 2;
	}
	const char *o = coach_put(&f);
	if (o == NULL)
		return 1;
	if ((why = put_refusal(o, "coach", f.coach_no, f.school, buf, sizeof(buf)))) {
		fprintf(stderr, "hoursctl: coach add: %s\n", why);
		return 1;
	}
	printf("coach %s %s (school %s, teaches %s)\n", f.coach_no,
	       strcmp(o, "same") == 0 ? "registered already, unchanged" : o, f.school, f.teach);
	return 0;
}

enum {
	C_NO,
	C_SCHOOL,
	C_NAME,
	C_TEACH,
	C_ID,
	C_LICENCE,
	C_LICENSED,
	C_OCC,
	C_LEVEL,
	C_DRIVE,
	C_EMPLOY,
	C_HIRED,
	C_LEFT
};

static enum csv_verdict coach_row(const struct csv *c, void *arg)
{
	char buf[256];
	struct coach_fields f = {.coach_no = csv_get(c, C_NO),
				 .school = csv_get(c, C_SCHOOL),
				 .name = csv_get(c, C_NAME),
				 .teach = csv_get(c, C_TEACH),
				 .id_card = opt(csv_get(c, C_ID)),
				 .licence_no = opt(csv_get(c, C_LICENCE)),
				 .licensed_on = opt(csv_get(c, C_LICENSED)),
				 .occupation_no = opt(csv_get(c, C_OCC)),
				 .occupation_level = opt(csv_get(c, C_LEVEL)),
				 .drive = csv_get(c, C_DRIVE),
				 .employ = opt(csv_get(c, C_EMPLOY)),
				 .hired_on = opt(csv_get(c, C_HIRED)),
				 .left_on = opt(csv_get(c, C_LEFT))};
	const char *why = coach_refusal(&f, buf, sizeof(buf));
	const char *o = why ? NULL : coach_put(&f);
	if (why == NULL && o == NULL)
		return CSV_ABORT;
	if (o && (why = put_refusal(o, "coach", f.coach_no, f.school, buf, sizeof(buf))) == NULL)
		return strcmp(o, "same") == 0 ? CSV_SAME : CSV_ADDED;
	csv_say(c, why);
	return CSV_REFUSED;
}

static int import(const char *path, const char *const *need, int nneed, const char *const *opts,
		  int nopt, csv_row_fn row, const char *stored)
{
	struct csv c;
	struct csv_counts n = {0};
	if (!csv_open(&c, path, need, nneed, opts, nopt))
		return 1;
	bool ok = csv_import(&c, row, NULL, &n);
	csv_close(&c);
	if (!ok)
		return 1;
	if (n.read_error)
		fprintf(stderr, "hoursctl: %s: read error\n", path);
	printf("%s: %lu %s or changed, %lu unchanged, %lu refused\n", path, n.added, stored, n.same,
	       n.refused);
	return n.refused || n.read_error ? 1 : 0;
}

/* coach import FILE.csv */
int registry_coach_import(const struct args *a)
{
	static const char *const need[] = {"coach_no", "school", "name", "teach_classes"};
	static const char *const opts[] = {"id_card",	    "licence_no",	"licensed_on",
					   "occupation_no", "occupation_level", "drive_classes",
					   "employ_status", "hired_on",		"left_on"};
	return import(a->pos[0], need, 4, opts, 9, coach_row, "registered");
}

/* coach list [--school CODE] */
int registry_coach_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"coach", COACH_LIST_COACH_NO, 16, 0}, {"school", COACH_LIST_CODE, 12, 0},
		{"name", COACH_LIST_NAME, 12, 0},      {"teaches", COACH_LIST_TEACH, 8, 0},
		{"hired", COACH_LIST_HIRED_ON, 10, 0}, {"left", COACH_LIST_LEFT_ON, 10, 0},
		{"status", COACH_LIST_STATUS, 8, 0},   {"minutes 90d", COACH_LIST_MINUTES, 0, 0},
	};
	const char *v[1] = {a->opt[0]};
	if (!check_known("coach list", "school", a->opt[0]))
		return 1;
	PGresult *r = pgq_query(sql_coach_list, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}

/* The changes of one coach or vehicle, oldest first. */
static int show_history(const char *kind, const char *key)
{
	const char *v[2] = {kind, key};
	PGresult *h = pgq_query(sql_registry_history, 2, v);
	if (h == NULL)
		return 1;
	if (out_show("history", h, false)) {
		PQclear(h);
		out_end(stdout);
		return 0;
	}
	printf("history        %d\n", PQntuples(h));
	for (int i = 0; i < PQntuples(h); i++)
		printf("  %s  %-8s school %s  by %s\n", PQgetvalue(h, i, REGISTRY_HISTORY_AT),
		       PQgetvalue(h, i, REGISTRY_HISTORY_WHAT),
		       PQgetvalue(h, i, REGISTRY_HISTORY_CODE),
		       PQgetvalue(h, i, REGISTRY_HISTORY_BY_NAME));
	PQclear(h);
	return 0;
}

/* coach show COACH: facts (the identity card as its digest) and history. */
int registry_coach_show(const struct args *a)
{
	const char *v[1] = {a->pos[0]};
	PGresult *r = pgq_query(sql_coach_show, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		fprintf(stderr, "hoursctl: coach show: no coach %s registered\n", a->pos[0]);
		return 1;
	}
#define G(c) dash(PQgetvalue(r, 0, COACH_SHOW_##c))
	if (!out_show("coach", r, true))
		printf("coach          %s\nschool         %s\nname           %s\nidentity card  %s%s\n"
		       "licence        %s (first %s), classes %s\noccupation     %s level %s\n"
		       "teaches        %s\nemployment     %s (hired %s, left %s)\nstatus         %s%s%s\n"
		       "registered     %s UTC+8\n",
		       G(COACH_NO), G(CODE), G(NAME),
		       PQgetvalue(r, 0, COACH_SHOW_ID_CARD_SHA256)[0] ? "SHA-256 "
								      : "none recorded",
		       PQgetvalue(r, 0, COACH_SHOW_ID_CARD_SHA256), G(LICENCE_NO), G(LICENSED_ON),
		       G(DRIVE), G(OCCUPATION_NO), G(OCCUPATION_LEVEL), G(TEACH), G(EMPLOY_STATUS),
		       G(HIRED_ON), G(LEFT_ON), G(STATUS),
		       PQgetvalue(r, 0, COACH_SHOW_RETIRED_AT)[0] ? " since " : "",
		       PQgetvalue(r, 0, COACH_SHOW_RETIRED_AT), G(CREATED));
#undef G
	PQclear(r);
	return show_history("coach", a->pos[0]);
}

/* coach|vehicle retire KEY */
static int retire(const char *kind, const char *key)
{
	const char *v[2] = {kind, key};
	const char *o = outcome_of(pgq_query(sql_registry_retire, 2, v));
	if (o == NULL)
		return 1;
	if (strcmp(o, "missing") == 0) {
		fprintf(stderr, "hoursctl: %s retire: no %s %s registered\n", kind, kind, key);
		return 1;
	}
	printf("%s %s %s\n", kind, key,
	       strcmp(o, "already") == 0 ? "was retired already"
					 : "retired (kept with its history)");
	return 0;
}

int registry_coach_retire(const struct args *a)
{
	if (!check_label("coach number", a->pos[0], 32))
		return 2;
	return retire("coach", a->pos[0]);
}

/* ---- vehicles ---- */

struct vehicle_fields {
	const char *plate, *school, *vehicle_class, *vehicle_no, *color, *frame, *engine, *make;
	const char *model, *bought_on, *terminal;
};

static const char *vehicle_refusal(const struct vehicle_fields *f)
{
	if (!students_valid_text(f->plate, 16))
		return "plate: 1-16 printable characters expected";
	if (!students_valid_text(f->school, 64))
		return "school code: 1-64 printable characters expected";
	if (!students_valid_class(f->vehicle_class))
		return "training class: a letter and an optional digit expected (C1, B2, D)";
	if (f->vehicle_no && !students_valid_token(f->vehicle_no, 32))
		return "vehicle number: 1-32 printable ASCII characters expected";
	if (f->color && !students_valid_text(f->color, 8))
		return "plate colour: 1-8 characters expected";
	if (f->frame && !students_valid_token(f->frame, 32))
		return "frame number: 1-32 printable ASCII characters expected";
	if (f->engine && !students_valid_token(f->engine, 32))
		return "engine number: 1-32 printable ASCII characters expected";
	if ((f->make && !students_valid_text(f->make, 64)) ||
	    (f->model && !students_valid_text(f->model, 64)))
		return "make and model: 1-64 characters expected";
	if (!opt_date(f->bought_on))
		return "purchase date: YYYY-MM-DD expected";
	if (f->terminal && !(strlen(f->terminal) <= 20 &&
			     strspn(f->terminal, "0123456789") == strlen(f->terminal)))
		return "terminal: its number (1-20 digits) expected";
	return NULL;
}

static const char *vehicle_put(const struct vehicle_fields *f)
{
	const char *v[10] = {f->plate,	f->school, f->vehicle_no, f->color,	    f->frame,
			     f->engine, f->make,   f->model,	  f->vehicle_class, f->bought_on};
	return outcome_of(pgq_query(sql_vehicle_put, 10, v));
}

/* A terminal's number as stored: without leading zeros ("0" stays). */
static const char *phone_of(const char *s)
{
	while (s[0] == '0' && s[1])
		s++;
	return s;
}

/* Bind (plate) or unbind (plate NULL) a terminal: the outcome, NULL on a database error. */
static const char *bind(const char *terminal, const char *plate)
{
	const char *v[2] = {phone_of(terminal), plate};
	return outcome_of(pgq_query(sql_vehicle_bind, 2, v));
}

static const char *bind_refusal(const char *o, const char *terminal, const char *plate, char *buf,
				size_t cap)
{
	if (strcmp(o, "no_terminal") == 0)
		snprintf(buf, cap, "no terminal %s (hoursctl terminal add)", terminal);
	else if (strcmp(o, "no_vehicle") == 0)
		snprintf(buf, cap, "no vehicle %s registered", plate);
	else if (strcmp(o, "retired") == 0)
		snprintf(buf, cap, "vehicle %s is retired", plate);
	else if (strcmp(o, "not_bound") == 0)
		snprintf(buf, cap, "terminal %s is bound to no vehicle", terminal);
	else
		return NULL;
	return buf;
}

/* vehicle add PLATE --school CODE --class C1 [...] [--terminal NUMBER] */
int registry_vehicle_add(const struct args *a)
{
	char buf[256];
	const struct vehicle_fields f = {.plate = a->pos[0],
					 .school = a->opt[0],
					 .vehicle_class = a->opt[1],
					 .vehicle_no = a->opt[2],
					 .color = a->opt[3],
					 .frame = a->opt[4],
					 .engine = a->opt[5],
					 .make = a->opt[6],
					 .model = a->opt[7],
					 .bought_on = a->opt[8],
					 .terminal = a->opt[9]};
	if (f.school == NULL || f.vehicle_class == NULL) {
		fprintf(stderr, "hoursctl: vehicle add: --school and --class are required\n");
		return 2;
	}
	const char *why = vehicle_refusal(&f);
	if (why) {
		fprintf(stderr, "hoursctl: vehicle add: %s\n", why);
		return 2;
	}
	const char *o = vehicle_put(&f);
	if (o == NULL)
		return 1;
	if ((why = put_refusal(o, "vehicle", f.plate, f.school, buf, sizeof(buf)))) {
		fprintf(stderr, "hoursctl: vehicle add: %s\n", why);
		return 1;
	}
	printf("vehicle %s %s (school %s, class %s)\n", f.plate,
	       strcmp(o, "same") == 0 ? "registered already, unchanged" : o, f.school,
	       f.vehicle_class);
	if (f.terminal) {
		const char *b = bind(f.terminal, f.plate);
		if (b == NULL)
			return 1;
		if ((why = bind_refusal(b, f.terminal, f.plate, buf, sizeof(buf)))) {
			fprintf(stderr, "hoursctl: vehicle add: %s\n", why);
			return 1;
		}
		printf("terminal %s %s vehicle %s\n", phone_of(f.terminal),
		       strcmp(b, "same") == 0 ? "was bound already to" : "bound to", f.plate);
	}
	return 0;
}

enum {
	V_PLATE,
	V_SCHOOL,
	V_CLASS,
	V_NO,
	V_COLOR,
	V_FRAME,
	V_ENGINE,
	V_MAKE,
	V_MODEL,
	V_BOUGHT,
	V_TERM
};

static enum csv_verdict vehicle_row(const struct csv *c, void *arg)
{
	char buf[256];
	const struct vehicle_fields f = {.plate = csv_get(c, V_PLATE),
					 .school = csv_get(c, V_SCHOOL),
					 .vehicle_class = csv_get(c, V_CLASS),
					 .vehicle_no = opt(csv_get(c, V_NO)),
					 .color = opt(csv_get(c, V_COLOR)),
					 .frame = opt(csv_get(c, V_FRAME)),
					 .engine = opt(csv_get(c, V_ENGINE)),
					 .make = opt(csv_get(c, V_MAKE)),
					 .model = opt(csv_get(c, V_MODEL)),
					 .bought_on = opt(csv_get(c, V_BOUGHT)),
					 .terminal = opt(csv_get(c, V_TERM))};
	const char *why = vehicle_refusal(&f);
	const char *o = why ? NULL : vehicle_put(&f);
	if (why == NULL && o == NULL)
		return CSV_ABORT;
	if (o && (why = put_refusal(o, "vehicle", f.plate, f.school, buf, sizeof(buf))) == NULL) {
		bool same = strcmp(o, "same") == 0;
		if (f.terminal) {
			const char *b = bind(f.terminal, f.plate);
			if (b == NULL)
				return CSV_ABORT;
			if ((why = bind_refusal(b, f.terminal, f.plate, buf, sizeof(buf)))) {
				csv_say(c, why);
				return CSV_REFUSED;
			}
			same = same && strcmp(b, "same") == 0;
		}
		return same ? CSV_SAME : CSV_ADDED;
	}
	csv_say(c, why);
	return CSV_REFUSED;
}

/* vehicle import FILE.csv */
int registry_vehicle_import(const struct args *a)
{
	static const char *const need[] = {"plate", "school", "class"};
	static const char *const opts[] = {"vehicle_no", "plate_color", "frame_no",  "engine_no",
					   "make",	 "model",	"bought_on", "terminal"};
	return import(a->pos[0], need, 3, opts, 8, vehicle_row, "registered");
}

/* vehicle list [--school CODE] */
int registry_vehicle_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"plate", VEHICLE_LIST_PLATE, 10, 0},
		{"school", VEHICLE_LIST_CODE, 12, 0},
		{"vehicle no", VEHICLE_LIST_VEHICLE_NO, 16, 0},
		{"class", VEHICLE_LIST_VEHICLE_CLASS, 5, 0},
		{"terminal", VEHICLE_LIST_TERMINAL, 12, 0},
		{"status", VEHICLE_LIST_STATUS, 0, 0},
	};
	const char *v[1] = {a->opt[0]};
	if (!check_known("vehicle list", "school", a->opt[0]))
		return 1;
	PGresult *r = pgq_query(sql_vehicle_list, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ARRAY_SIZE(cols));
	PQclear(r);
	return 0;
}

/* vehicle show PLATE: facts, the terminals bound to it, history. */
int registry_vehicle_show(const struct args *a)
{
	const char *v[1] = {a->pos[0]};
	PGresult *r = pgq_query(sql_vehicle_show, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		fprintf(stderr, "hoursctl: vehicle show: no vehicle %s registered\n", a->pos[0]);
		return 1;
	}
#define G(c) dash(PQgetvalue(r, 0, VEHICLE_SHOW_##c))
	if (!out_show("vehicle", r, true))
		printf("vehicle        %s (%s)\nschool         %s\nvehicle no     %s\nframe          %s\n"
		       "engine         %s\nmake / model   %s / %s\nclass          %s\nbought         %s\n"
		       "status         %s%s%s\nregistered     %s UTC+8\n",
		       G(PLATE), G(PLATE_COLOR), G(CODE), G(VEHICLE_NO), G(FRAME_NO), G(ENGINE_NO),
		       G(MAKE), G(MODEL), G(VEHICLE_CLASS), G(BOUGHT_ON), G(STATUS),
		       PQgetvalue(r, 0, VEHICLE_SHOW_RETIRED_AT)[0] ? " since " : "",
		       PQgetvalue(r, 0, VEHICLE_SHOW_RETIRED_AT), G(CREATED));
#undef G
	PQclear(r);
	PGresult *b = pgq_query(sql_vehicle_bindings, 1, v);
	if (b == NULL)
		return 1;
	if (!out_show("terminals", b, false)) {
		printf("terminals      %d\n", PQntuples(b));
		for (int i = 0; i < PQntuples(b); i++)
			printf("  %s  from %s%s%s  by %s\n",
			       PQgetvalue(b, i, VEHICLE_BINDINGS_PHONE),
			       PQgetvalue(b, i, VEHICLE_BINDINGS_BOUND_AT),
			       PQgetvalue(b, i, VEHICLE_BINDINGS_UNBOUND_AT)[0] ? " until "
										: " (now)",
			       PQgetvalue(b, i, VEHICLE_BINDINGS_UNBOUND_AT),
			       PQgetvalue(b, i, VEHICLE_BINDINGS_BOUND_BY));
	}
	PQclear(b);
	return show_history("vehicle", a->pos[0]);
}

int registry_vehicle_retire(const struct args *a)
{
	if (!students_valid_text(a->pos[0], 16)) {
		fprintf(stderr, "hoursctl: vehicle retire: plate: 1-16 printable characters\n");
		return 2;
	}
	return retire("vehicle", a->pos[0]);
}

/* vehicle bind PLATE TERMINAL | vehicle unbind TERMINAL */
int registry_vehicle_bind(const struct args *a)
{
	char buf[256];
	bool unbind = strcmp(a->sub, "unbind") == 0;
	const char *plate = unbind ? NULL : a->pos[0], *terminal = unbind ? a->pos[0] : a->pos[1];
	if (terminal == NULL || strlen(terminal) == 0 || strlen(terminal) > 20 ||
	    strspn(terminal, "0123456789") != strlen(terminal)) {
		fprintf(stderr,
			"hoursctl: vehicle %s: the terminal's number (1-20 digits) "
			"expected\n",
			a->sub);
		return 2;
	}
	if (plate && !students_valid_text(plate, 16)) {
		fprintf(stderr, "hoursctl: vehicle bind: plate: 1-16 printable characters\n");
		return 2;
	}
	const char *o = bind(terminal, plate);
	if (o == NULL)
		return 1;
	const char *why = bind_refusal(o, terminal, plate, buf, sizeof(buf));
	if (why) {
		fprintf(stderr, "hoursctl: vehicle %s: %s\n", a->sub, why);
		return 1;
	}
	if (unbind)
		printf("terminal %s unbound (the binding's history is kept)\n", phone_of(terminal));
	else
		printf("terminal %s %s vehicle %s\n", phone_of(terminal),
		       strcmp(o, "same") == 0 ? "was bound already to" : "bound to", plate);
	return 0;
}
