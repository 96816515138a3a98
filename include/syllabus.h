/*
 * syllabus.h - the training syllabus (conf/syllabus.yaml): per vehicle
 * class and part, the minutes required, which kinds of minutes count and
 * how many of each, the site and speed rules and the per-day cap.
 *
 * The file is loaded with libyaml and validated completely before anyone
 * sees it; errors are "file:line: message".  A loaded syllabus is read-only
 * and may be shared; a reload loads a new one and swaps it in whole.
 * The format and the figures are in docs/syllabus.md.
 */
#ifndef HOURSD_SYLLABUS_H
#define HOURSD_SYLLABUS_H

#include "hoursd.h"

/*
 * Kinds of minutes, numbered as the course code's training mode minus one
 * (docs/protocol.md, "Course code"): mode 1 vehicle, 2 classroom,
 * 3 simulator, 4 remote.
 */
enum syllabus_kind {
	SYL_VEHICLE = 0,
	SYL_CLASSROOM = 1,
	SYL_SIMULATOR = 2,
	SYL_REMOTE = 3,
};
#define SYL_KINDS 4

/* "vehicle", "classroom", "simulator", "remote"; NULL outside the enum. */
const char *syllabus_kind_name(unsigned kind);

/* Unlimited, in syllabus_part.max_minutes[]. */
#define SYL_UNLIMITED (-1)

/* One vehicle class and part: one row of the syllabus_part table. */
struct syllabus_part {
	char vehicle_class[4];	   /* "C1" */
	unsigned part;		   /* 1-4 */
	unsigned required_minutes; /* > 0 */
	/*
	 * The most minutes each kind may contribute, indexed by enum
	 * syllabus_kind: SYL_UNLIMITED, 0 when the kind is not allowed, else
	 * floor(required_minutes * max_share).
	 */
	int max_minutes[SYL_KINDS];
	bool on_site;		    /* minutes must be inside the school's training site */
	unsigned max_speed_dkmh;    /* speed limit, 0.1 km/h; 0 = no limit */
	unsigned daily_cap_minutes; /* per student and day, all kinds of this part; 0 = no cap */
	bool practice;		    /* the cap group: practice (vehicle, simulator) or theory */
	unsigned min_mileage_km;    /* of the class (all practical parts together); 0 = none */
	/*
	 * The class's min_mileage_km on part 3 (road driving: its exam is the
	 * road test) when present, else 0: the total mileage of the practice
	 * parts must reach it before this part is met.
	 */
	unsigned gate_mileage_km;
	/*
	 * The requirement for a student who already holds a licence and adds
	 * this class (增驾), from the class's adding_class; 0: no reduced
	 * figure (such a student needs required_minutes).  Never above
	 * required_minutes; max_minutes[] stay computed from required_minutes.
	 */
	unsigned adding_required_minutes;
	bool confirmed;	    /* false: the class's figures are not confirmed from the text */
	unsigned long line; /* line of the part in the file */
};

struct syllabus;

/* Load and validate; on error writes "file:line: message" into err and returns NULL. */
struct syllabus *syllabus_load(const char *path, char *err, size_t errlen) MUSTCHECK;
void syllabus_free(struct syllabus *s);

/* The document the figures come from ("交运发〔2022〕36号 ..."). */
const char *syllabus_name(const struct syllabus *s);
/* Minutes of one hour (学时) as the file says, and the effective minutes it names. */
unsigned syllabus_hour_minutes(const struct syllabus *s);
unsigned syllabus_effective_minutes(const struct syllabus *s);

/*
 * The part of a class, or NULL when the file has no such class, the class
 * has no such part (C6 has parts 2 and 4 only), or part is not 1-4.
 */
const struct syllabus_part *syllabus_part(const struct syllabus *s, const char *vehicle_class,
					  unsigned part);

/*
 * The parts the file lists, and only those, ordered by class (A1 A2 A3 B1
 * B2 C1 ... P) then part.
 */
size_t syllabus_count(const struct syllabus *s);
const struct syllabus_part *syllabus_at(const struct syllabus *s, size_t i);

/*
 * The decision, the same rule as the SQL that advances progress:
 *
 *   met  <=>  sum over kinds k of min(minutes_by_kind[k], max_minutes[k])
 *             >= required_minutes
 *
 * with an unlimited kind counting all its minutes and a kind that is not
 * allowed counting none.  minutes_by_kind is indexed by enum syllabus_kind.
 * Minutes over a kind's share are kept by the caller but never count; the
 * daily cap and the per-minute checks are applied before minutes get here.
 * A NULL part is never met.
 */
bool syllabus_met(const struct syllabus_part *p, const unsigned minutes_by_kind[SYL_KINDS]);

#endif
