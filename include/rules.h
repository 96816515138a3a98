/*
 * rules.h - the checks every training minute passes in hoursd before the
 * database adds its own (minute claims, daily caps, progress), and the
 * reference data they use: the syllabus and the schools' training sites.
 */
#ifndef HOURSD_RULES_H
#define HOURSD_RULES_H

#include "hoursd.h"
#include "geo.h"
#include "jtx.h"
#include "reasons.h"

struct hconf;
struct db;
struct syllabus;

/* What a terminal's connection knows for the checks. */
struct rules_terminal {
	int64_t school_id;	   /* 0: none assigned */
	const char *vehicle_class; /* of the terminal's vehicle; "" when unknown */
	struct geo_fix last;	   /* the last accepted vehicle minute; t == 0: none */
};

/*
 * The reason a record may not count (docs/protocol.md), or R_NONE.  On
 * R_NONE for a vehicle minute, t->last becomes this record's fix.  No
 * I/O: the clock is now.
 */
enum reason rules_check_record(const struct hconf *cf, const struct syllabus *syl,
			       const struct geo_set *sites, struct rules_terminal *t,
			       const struct jtx_record *x, time_t now);

/* Write the syllabus into syllabus_part (the batch statement reads it there). */
void rules_publish_syllabus(struct db *s, const struct syllabus *syl);

/*
 * Load the training sites (kind field, with a polygon) from the database;
 * done gets a new set, or NULL when the query failed (the old set stays).
 */
typedef void (*rules_sites_fn)(void *arg, struct geo_set *sites);
void rules_load_sites(struct db *s, rules_sites_fn done, void *arg);

#endif
