/*
 * rules.c - see rules.h.
 *
 * The checks here need only what hoursd holds: the record, the syllabus,
 * the sites, the terminal's last fix and the clock.  What must hold
 * across connections and instances (one vehicle per student and coach per
 * minute, the daily cap, progress, the push decision) is decided by the
 * database in the statement that stores the record (store.c).
 */
#include "hoursd.h"
#include "queries.h"
#include "rules.h"
#include "conf.h"
#include "log.h"
#include "db.h"
#include "syllabus.h"

#include <jansson.h>
#include <libpq-fe.h>

/* Course-code training modes (docs/protocol.md) are syllabus kinds + 1. */
#define MODE_VEHICLE 1

static enum reason check_time(const struct hconf *cf, const struct jtx_record *x, time_t now)
{
	if (x->record_time > now + (time_t)cf->max_future_s)
		return R_RECORD_IN_FUTURE;
	if (now - x->record_time > (time_t)cf->max_record_age_s)
		return R_RECORD_TOO_OLD;
	return R_NONE;
}

/* A minute in a vehicle: a valid fix, within the part's speed, no jump, on the site if required. */
static enum reason check_vehicle(const struct hconf *cf, const struct syllabus_part *p,
				 const struct geo_set *sites, struct rules_terminal *t,
				 const struct jtx_record *x)
{
	if (!x->gnss.fix)
		return R_NO_GNSS_FIX;
	if (p->max_speed_dkmh &&
	    (x->max_speed_dkmh > p->max_speed_dkmh || x->gnss.speed_dkmh > p->max_speed_dkmh))
		return R_SPEED_OVER_LIMIT;
	/* The timing GNSS block has the satellite's speed and the recorder's: both are real. */
	unsigned sat = x->gnss.speed_dkmh, rec = x->gnss.recorder_speed_dkmh;
	if (cf->max_speed_difference_kmh && sat && rec &&
	    (sat > rec ? sat - rec : rec - sat) > 10u * cf->max_speed_difference_kmh)
		return R_SPEED_MISMATCH;
	struct geo_fix cur = {
		.lat_e6 = x->gnss.lat_e6, .lon_e6 = x->gnss.lon_e6, .t = x->record_time};
	if (t->last.t && geo_jump_too_fast(&t->last, &cur, cf->max_jump_kmh))
		return R_POSITION_JUMP;
	if (p->on_site) {
		if (sites == NULL || geo_set_sites(sites, t->school_id) == 0)
			return R_NO_TRAINING_SITE;
		if (geo_set_find(sites, t->school_id, x->gnss.lat_e6, x->gnss.lon_e6) == NULL)
			return R_OUTSIDE_TRAINING_SITE;
	}
	t->last = cur;
	return R_NONE;
}

enum reason rules_check_record(const struct hconf *cf, const struct syllabus *syl,
			       const struct geo_set *sites, struct rules_terminal *t,
			       const struct jtx_record *x, time_t now)
{
	enum reason why = check_time(cf, x, now);
	if (why != R_NONE)
		return why;
	const struct syllabus_part *p = syllabus_part(syl, x->course.vehicle_class, x->course.part);
	if (p == NULL)
		return R_NO_SYLLABUS_PART;
	if (t->vehicle_class[0] && strcmp(t->vehicle_class, x->course.vehicle_class) != 0)
		return R_VEHICLE_CLASS_MISMATCH;
	unsigned mode = x->course.mode;
	if (mode < 1 || mode > SYL_KINDS || p->max_minutes[mode - 1] == 0)
		return R_KIND_NOT_ALLOWED;
	if (mode == MODE_VEHICLE)
		return check_vehicle(cf, p, sites, t, x);
	return R_NONE;
}

/* ---- reference data in the database ---- */

/* NULL for "no limit". */
static json_t *limit(long v, long none)
{
	return v == none ? json_null() : json_integer(v);
}

static void on_published(void *arg, const PGresult *res)
{
	if (res)
		log_info("syllabus written to syllabus_part (%zu parts)", (size_t)(uintptr_t)arg);
	else
		log_error(
			"syllabus not written to syllabus_part: parts will not be met until it is");
}

void rules_publish_syllabus(struct db *s, const struct syllabus *syl)
{
	json_t *rows = json_array();
	char unconfirmed[512] = "";
	size_t n = syllabus_count(syl);
	for (size_t i = 0; i < n; i++) {
		const struct syllabus_part *p = syllabus_at(syl, i);
		/* Each class once (its parts come together): figures not to be taken as law. */
		if (!p->confirmed && (i == 0 || strcmp(syllabus_at(syl, i - 1)->vehicle_class,
						       p->vehicle_class) != 0)) {
			size_t used = strlen(unconfirmed);
			snprintf(unconfirmed + used, sizeof(unconfirmed) - used, " %s",
				 p->vehicle_class);
		}
		json_array_append_new(
			rows, json_pack("{sssisisososososbsososososb}", "vc", p->vehicle_class,
					"pa", (int)p->part, "rq", (int)p->required_minutes, "mv",
					limit(p->max_minutes[SYL_VEHICLE], SYL_UNLIMITED), "ms",
					limit(p->max_minutes[SYL_SIMULATOR], SYL_UNLIMITED), "mc",
					limit(p->max_minutes[SYL_CLASSROOM], SYL_UNLIMITED), "mr",
					limit(p->max_minutes[SYL_REMOTE], SYL_UNLIMITED), "os",
					(int)p->on_site, "sp", limit(p->max_speed_dkmh, 0), "dc",
					limit(p->daily_cap_minutes, 0), "ad",
					limit(p->adding_required_minutes, 0), "mg",
					limit((long)p->gate_mileage_km * 10, 0), "cf",
					(int)p->confirmed));
	}
	if (unconfirmed[0])
		log_warn(
			"syllabus %s: classes marked confirmed: false (some of their figures are not "
			"from the syllabus text; docs/syllabus.md, syllabus_part.confirmed):%s",
			syllabus_name(syl), unconfirmed);
	char *text = json_dumps(rows, JSON_COMPACT);
	json_decref(rows);
	if (text == NULL)
		die("out of memory");
	const char *values[2] = {text, syllabus_name(syl)};
	db_query(s, sql_syllabus_publish, 2, values, on_published, (void *)(uintptr_t)n);
	free(text);
}

struct sites_load {
	rules_sites_fn done;
	void *arg;
};

static void on_sites(void *arg, const PGresult *res)
{
	struct sites_load *l = arg;
	struct geo_set *set = res ? geo_set_new() : NULL;
	for (int i = 0; set && i < PQntuples(res); i++) {
		char err[256];
		const char *text = PQgetvalue(res, i, SITE_LOAD_GEOJSON);
		struct geo_site *site = geo_site_parse(text, strlen(text), err, sizeof(err));
		if (site == NULL) {
			log_error("training site %s of school %s is unusable: %s",
				  PQgetvalue(res, i, SITE_LOAD_NAME),
				  PQgetvalue(res, i, SITE_LOAD_SCHOOL_ID), err);
			continue;
		}
		if (!geo_set_add(set, strtoll(PQgetvalue(res, i, SITE_LOAD_SCHOOL_ID), NULL, 10),
				 PQgetvalue(res, i, SITE_LOAD_NAME), site))
			die("out of memory");
	}
	if (set)
		log_info("training sites loaded: %d", PQntuples(res));
	else
		log_error("training sites not loaded: the database failed the query");
	l->done(l->arg, set);
	free(l);
}

void rules_load_sites(struct db *s, rules_sites_fn done, void *arg)
{
	struct sites_load *l = malloc(sizeof(*l));
	if (l == NULL)
		die("out of memory");
	l->done = done;
	l->arg = arg;
	db_query(s, sql_site_load, 0, NULL, on_sites, l);
}
