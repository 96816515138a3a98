/*
 * log.h - levelled log lines to stderr, one line per event.
 *
 * Lines look like "2026-11-25T11:50:06.123Z info conn 013800138000 127.0.0.1:51234: text"
 * so that grep reads them.  When stderr is the journal ($JOURNAL_STREAM
 * names it) they are "<6>info conn ...: text" instead: the sd-daemon.h
 * priority (<7> debug, <6> info, <4> warn, <3> error), which journald
 * strips and keeps for `journalctl -p`, and no timestamp (journald's own).
 * Per-connection lines go through conn_log() in conn.c, which adds the
 * terminal and peer.
 */
#ifndef HOURSD_LOG_H
#define HOURSD_LOG_H

#include "hoursd.h"
#include <stdarg.h>

enum log_level { HLOG_DEBUG, HLOG_INFO, HLOG_WARN, HLOG_ERROR };

/* Parse "debug", "info", "warn", "error"; false when unknown. */
bool log_level_parse(const char *s, enum log_level *out) MUSTCHECK;
void log_set_level(enum log_level lvl);
/* A program name written before every message ("termsim: ..."), or NULL for none. */
void log_set_prefix(const char *prefix);
bool log_enabled(enum log_level lvl);
/* Look at $JOURNAL_STREAM and stderr (again): true when stderr is the
 * journal.  Done by the first line logged; call it after moving stderr. */
bool log_journal_detect(void);
void log_msg(enum log_level lvl, const char *fmt, ...) PRINTF(2, 3);
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap) PRINTF(2, 0);

/*
 * n bytes of buf as lower-case hex into out, which holds 2n + 1 bytes
 * (NUL-terminated); out is returned.  The one hex encoder of the tree.
 */
char *hex_encode(char *out, const void *buf, size_t n);
/* The same in upper case (the national platform's signatures). */
char *hex_encode_upper(char *out, const void *buf, size_t n);
/* Write at most max bytes of buf as hex into out (cap bytes), "..." when cut. */
void log_hex(char *out, size_t cap, const uint8_t *buf, size_t n, size_t max);

#define log_debug(...) log_msg(HLOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(HLOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(HLOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(HLOG_ERROR, __VA_ARGS__)

/*
 * Lines kept for later, written by whoever carries out a decision (a
 * verdict's, by conn.c with conn_log()).  A line of a level not enabled is
 * not kept; beyond LOG_DEFER_MAX a line replaces the last one.
 */
#define LOG_DEFER_MAX 2
struct log_deferred {
	unsigned n;
	struct {
		enum log_level lvl;
		char text[512];
	} line[LOG_DEFER_MAX];
};
void log_defer(struct log_deferred *d, enum log_level lvl, const char *fmt, ...) PRINTF(3, 4);

/*
 * Log and exit(1): for a failure at start-up, and for out of memory at
 * any time (or a caller's bug no input can cause).  Anything else, a
 * running daemon logs and survives.
 */
_Noreturn void die(const char *fmt, ...) PRINTF(1, 2);

#endif
