/*
 * lesson.h - termsim's lesson as lesson.c builds it and lesson_run.c
 * sends and accounts it: the script of timing messages and what each
 * expects.  Private to those two.
 */
#ifndef HOURSD_TERMSIM_LESSON_H
#define HOURSD_TERMSIM_LESSON_H

#include "hoursd.h"
#include "jtx.h"
#include "termsim.h"

/* What a message of the script is. */
enum role {
	R_COACH_IN,
	R_STUDENT_IN,
	R_PHOTO_INIT,
	R_PHOTO_DATA,
	R_RECORD,
	R_RESEND,
	R_REUSE,
	R_STUDENT_OUT,
	R_COACH_OUT,
	R__COUNT
};

/* One timing message of the script. */
struct lmsg {
	uint8_t *body; /* the 0x0900 body */
	size_t len;
	bool owns; /* a resend shares the body of the record it repeats */
	uint8_t role;
	bool wait;	  /* sent once everything before it is answered */
	bool expect_fail; /* deliberately broken: a non-zero answer is expected */
	bool untracked;	  /* a piece left out: no answer is expected */
	bool skip;	  /* built, not sent (--only) */
	bool sent, answered;
	int result; /* -1: none */
	uint16_t ext_id, ext_serial;
	uint16_t serial; /* the JT/T 808 serial its answer is expected under */
	char record_no[JTX_RECORD_NO_LEN + 1];
};

struct termsim_lesson {
	struct lmsg *m;
	size_t n, cap, next;
	char terminal_no[JTX_TERMINAL_NO_LEN + 1];
	char coach_no[JTX_PERSON_NO_LEN + 1];
	char student_no[JTX_PERSON_NO_LEN + 1];
	char photo_no[JTX_PHOTO_NO_LEN + 1];
	uint16_t ext_serial;
	time_t t0;	      /* record 1's time */
	unsigned bad_answers; /* answers of the wrong kind or shape */
};

static inline bool is_record(const struct lmsg *m)
{
	return m->role == R_RECORD || m->role == R_RESEND || m->role == R_REUSE;
}

/* Logins, logouts and the photo init are answered with a 0x8900. */
static inline bool wants_8900(const struct lmsg *m)
{
	return m->role != R_PHOTO_DATA && !is_record(m);
}

/* The good result of a login, a logout, the photo init (0: go ahead) or the photo. */
static inline int good_result(enum role r)
{
	if (r == R_PHOTO_INIT)
		return JTX_PHOTO_ACCEPTED;
	return r == R_PHOTO_DATA ? JT808_R_OK : JTX_R_OK;
}

#endif
