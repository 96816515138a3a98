/*
 * log.c - see log.h.
 */
#include "hoursd.h"
#include "log.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = HLOG_INFO;
static const char *prefix = "";
static const char *prefix_sep = "";
static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* The syslog priorities of sd-daemon.h: SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR. */
static const char *const level_prio[] = {"<7>", "<6>", "<4>", "<3>"};
_Static_assert(ARRAY_SIZE(level_prio) == ARRAY_SIZE(level_names), "a priority a level");
static int journal = -1; /* stderr is the journal: 1, not: 0, not looked at yet: -1 */

/*
 * systemd sets JOURNAL_STREAM to "DEV:INO" of the stream it connected to
 * stderr.  It is inherited by children whose stderr may be something
 * else, so it counts only when stderr still is that very file.
 */
bool log_journal_detect(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;
	journal = v && sscanf(v, "%llu:%llu%c", &dev, &ino, &tail) == 2 &&
		  fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
		  (unsigned long long)st.st_ino == ino;
	return journal;
}

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
	if (journal < 0)
		log_journal_detect();
	char line[2048];
	int n;
	if (journal) {
		/* journald stamps the line itself and takes the priority from "<N>". */
		n = snprintf(line, sizeof(line), "%s%s %s%s", level_prio[lvl], level_names[lvl],
			     prefix, prefix_sep);
	} else {
		struct timeval tv;
		struct tm tm;
		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s%s",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[lvl], prefix,
			     prefix_sep);
	}
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

static char *encode(char *out, const void *buf, size_t n, const char digits[16])
{
	const uint8_t *b = buf;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

char *hex_encode(char *out, const void *buf, size_t n)
{
	return encode(out, buf, n, "0123456789abcdef");
}

char *hex_encode_upper(char *out, const void *buf, size_t n)
{
	return encode(out, buf, n, "0123456789ABCDEF");
}

/* At most max bytes, and as many as leave two bytes of out spare; "..." when max cut. */
void log_hex(char *out, size_t cap, const uint8_t *buf, size_t n, size_t max)
{
	size_t k = n < max ? n : max, room = cap >= 2 ? (cap - 2) / 2 : 0;
	if (cap == 0)
		return;
	hex_encode(out, buf, k < room ? k : room);
	size_t o = 2 * (k < room ? k : room);
	if (n > max && o + 4 < cap)
		memcpy(out + o, "...", 4);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(HLOG_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void log_defer(struct log_deferred *d, enum log_level lvl, const char *fmt, ...)
{
	if (!log_enabled(lvl))
		return;
	unsigned i = d->n < LOG_DEFER_MAX ? d->n++ : LOG_DEFER_MAX - 1;
	d->line[i].lvl = lvl;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->line[i].text, sizeof(d->line[i].text), fmt, ap);
	va_end(ap);
}
