/*
 * teachlog.h - the teaching log (电子教学日志) of a student's part as a PDF:
 * the school, the student, each lesson (coach, vehicle, times, minutes,
 * the photos' SHA-256), the totals and the back-filled forms.
 *
 * Drawn with pango over cairo's PDF surface, in a CJK font from Debian
 * (fonts-wqy-microhei), into memory.  The same document is uploaded by
 * the pusher's national profile (push.c, before the body: its id is the
 * body's pdfid) and written by `hoursctl explain STUDENT --pdf FILE`.
 *
 * src/pdf/ is not in libhoursd.a: only the programs that make a PDF
 * (hoursd, hoursctl) compile and link it with pango and cairo
 * (the Makefile's PDF_PKGS), so the unit suites stay without them.
 */
#ifndef HOURSD_TEACHLOG_H
#define HOURSD_TEACHLOG_H

#include "hoursd.h"

typedef struct pg_result PGresult;

/*
 * The PDF (malloc'd, *len bytes) of doc, the JSON text of
 * sql/queries/daemon/teaching_log.sql, and forms, the rows of
 * sql/queries/daemon/teaching_log_backfill.sql (NULL: none).  NULL with err when
 * doc is not such a document or the drawing fails.
 */
unsigned char *teachlog_pdf(const char *doc, const PGresult *forms, size_t *len, char *err,
			    size_t errlen) MUSTCHECK;

/* A photo of the student (photo.data) and the hex SHA-256 the document names it by. */
struct teachlog_photo {
	char sha256_hex[65];
	const unsigned char *data;
	size_t len;
};

/* The largest side of a photo drawn (pixels); a larger one is listed, not drawn. */
#define TEACHLOG_PHOTO_MAX_SIDE 2048

/*
 * The printed edition, as a school files it in the student's record: the
 * same as teachlog_pdf() with the student's photo at the head (the first
 * photo of the first lesson), each lesson's photos drawn under it, lines
 * for the student's and the coach's signatures under each lesson and at
 * the end, and the space of the school's seal.  photos: the bytes of the
 * photos the document names (those missing or not JPEG are listed by their
 * SHA-256 only, as in teachlog_pdf()).
 */
unsigned char *teachlog_pdf_print(const char *doc, const PGresult *forms,
				  const struct teachlog_photo *photos, size_t nphotos, size_t *len,
				  char *err, size_t errlen) MUSTCHECK;

/* At exit: drop pango's, cairo's and fontconfig's caches (no leak reported under ASan). */
void teachlog_shutdown(void);

#endif
