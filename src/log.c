/*
 * log.c - see log.h.
 */
#include "hoursd.h"
#include "log.h"

#include <sys/time.h>
#include <time.h>

static enum log_level min_level = HLOG_INFO;
static const char *prefix = "";
static const char *prefix_sep = "";
static const char *const level_names[] = {"debug", "info", "warn", "error"};

bool log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

void log_set_prefix(const char *p)
{
	prefix = p ? p : "";
	prefix_sep = p ? ": " : "";
}

void log_set_level(enum log_level lvl)
{
	min_level = lvl;
}

bool log_enabled(enum log_level lvl)
{
	return lvl >= min_level;
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (!log_enabled(lvl))
		return;
	struct timeval tv;
	struct tm tm;
	char line[2048];
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[lvl], prefix, prefix_sep);
	if (n < 0)
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	/* One fputs per line so that lines of several processes do not interleave. */
	size_t len = strlen(line);
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	line[len] = '\n';
	line[len + 1] = '\0';
	fputs(line, stderr);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

void log_hex(char *out, size_t cap, const uint8_t *buf, size_t n, size_t max)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;
	if (cap == 0)
		return;
	for (size_t i = 0; i < n && i < max && o + 3 < cap; i++) {
		out[o++] = digits[buf[i] >> 4];
		out[o++] = digits[buf[i] & 15];
	}
	if (n > max && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(HLOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
