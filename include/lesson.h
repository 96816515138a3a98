/*
 * lesson.h - the lesson on one timing terminal as a state machine: a pure
 * function of the lesson, one decoded timing message (0x0900 with
 * transparent type 0x13) and the clock, giving the verdict and what to do
 * with the message.  No I/O: the caller (timing.c) checks the signature
 * before, and stores and answers after.
 */
#ifndef HOURSD_LESSON_H
#define HOURSD_LESSON_H

#include "hoursd.h"
#include "geo.h"
#include "jtx.h"
#include "reasons.h"
#include "sig.h"

#include <time.h>

struct hconf;
struct syllabus;
struct terminal;

#define LESSON_PHOTOS 4 /* photo announcements remembered per terminal */

struct pending_photo {
	bool used;
	struct jtx_photo_init init;
};

/*
 * The terminal as the registry had it when it connected, and the lesson
 * on it as the accepted logins and logouts left it.  Plain values: a copy
 * is a snapshot.
 */
struct lesson {
	/* the terminal */
	bool active;
	char terminal_no[JTX_TERMINAL_NO_LEN + 1]; /* "" when none is provisioned */
	int64_t school_id;			   /* 0 when none is assigned */
	char vehicle_class[4];			   /* of its vehicle, "" when unknown */
	/* the lesson */
	char coach_no[JTX_PERSON_NO_LEN + 1]; /* "" when no coach is logged in */
	time_t coach_login;
	char student_no[JTX_PERSON_NO_LEN + 1]; /* "" when no student is logged in */
	char student_coach_no[JTX_PERSON_NO_LEN + 1];
	uint32_t class_id;
	time_t student_login;
	time_t last_activity;	 /* the student's login or last accepted record */
	struct geo_fix last_fix; /* the last accepted vehicle minute; t == 0: none */
	struct pending_photo photos[LESSON_PHOTOS];
	unsigned next_photo;
	char flags[256]; /* the last login's flagged checks (lesson_event.flags points here) */
};

/* A timing message, decoded, with what the caller found out about it. */
struct lesson_msg {
	uint16_t id;		 /* JTX_COACH_LOGIN ... JTX_PHOTO_DATA */
	const char *terminal_no; /* the extension header's */
	bool came_unsigned;	 /* no check string */
	enum sig_result sig;	 /* the check string against the signing key; photo data: unused */
	union {
		struct jtx_coach_login coach_login;
		struct jtx_coach_logout coach_logout;
		struct jtx_student_login student_login;
		struct jtx_student_logout student_logout;
		struct jtx_record record;
		struct jtx_photo_init photo_init;
		struct jtx_photo_data photo_data;
	};
};

/* A student login against the student's schedule, as the caller looked it up. */
enum lesson_schedule {
	LESSON_SCHED_UNCHECKED = 0, /* not looked up: no judgement on it */
	LESSON_SCHED_IN,	    /* inside a slot of the student */
	LESSON_SCHED_OUT,	    /* outside every slot: rules.schedule decides */
};

/* The rest of what a verdict depends on. */
struct lesson_env {
	time_t now;
	enum lesson_schedule schedule; /* a student login's; other messages: unchecked */
	/*
	 * A login: the registry's failed checks as login_check.sql names them,
	 * ","-separated ("" none); NULL: not looked up, no judgement on them.
	 */
	const char *registry;
	const struct hconf *conf; /* session.timeout_s, rules.*, connection.reasm_* */
	const struct syllabus *syl;
	const struct geo_set *sites; /* NULL until loaded */
};

/* What the caller does with the message. */
enum lesson_action {
	LESSON_STORE_EVENT,  /* a login or logout: store it with its verdict; answer after */
	LESSON_STORE_RECORD, /* a training record: the same, answered 0x8001 */
	LESSON_STORE_PHOTO,  /* a whole photo: store it, answer 0x8001 after the commit */
	LESSON_ANSWER_PHOTO, /* a photo announcement: answer 0x8305 now, store nothing */
	LESSON_REFUSE,	     /* photo data not announced so: 0x8001 failure now, store nothing */
};

/* A login or logout as session_event keeps it; the pointers are into the message. */
struct lesson_event {
	const char *kind; /* coach_login, coach_logout, student_login, student_logout */
	time_t time;
	const char *person_no;
	const char *coach_no;	  /* student login, else NULL */
	int64_t class_id;	  /* -1: none */
	const char *course_code;  /* NULL: none */
	int minutes, mileage_dkm; /* student logout, else -1 */
	bool outside_schedule;	  /* a student login taken outside the schedule (flagged) */
	const char *flags;	  /* a login: the registry's checks flagged, ","-separated; NULL */
	const struct jt808_location *gnss;
};

struct lesson_verdict {
	enum lesson_action action;
	enum reason reason; /* R_NONE: accepted */
	/* Refused: the reason's name, or what refused a photo (no code: nothing is stored). */
	const char *why;
	uint16_t answer_id;    /* the 0x8900 answer (0x8101 ...) owed after the commit; 0: 0x8001 */
	const char *person_no; /* the person (photo number) the answer names */
	uint8_t part;	       /* a student login: the part its answer reports progress for */
	struct lesson_event event;	    /* LESSON_STORE_EVENT */
	const struct jtx_record *record;    /* LESSON_STORE_RECORD */
	time_t session_login;		    /* LESSON_STORE_RECORD: the student login, 0: none */
	const struct jtx_photo_init *photo; /* LESSON_STORE_PHOTO: its announcement */
	const struct jtx_photo_data *photo_data; /* LESSON_STORE_PHOTO */
};

/*
 * The lesson of a terminal just looked up: the registry's facts and the
 * lesson its last accepted logins left open, if any.
 */
void lesson_restore(struct lesson *l, const struct terminal *t);

/*
 * Decode the data of h into m (id, terminal number, came_unsigned; the
 * caller adds sig); m points into h and its body.  JTX_E_TYPE: a message
 * the lesson does not take.
 */
enum jtx_err lesson_decode(const struct jtx_header *h, struct lesson_msg *m) MUSTCHECK;

/*
 * Judge m against l and update l.  A refused message leaves l as it was,
 * but for a record after session.timeout_s, which ends the student's
 * login.  The verdict's pointers are into m and l.
 */
struct lesson_verdict lesson_judge(struct lesson *l, const struct lesson_msg *m,
				   const struct lesson_env *env) MUSTCHECK;

#endif
