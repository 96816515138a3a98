/*
 * lesson.c - the lesson state machine a terminal drives (src/lesson.c and
 * the rules it applies, src/rules.c): timing messages decoded as timing.c
 * decodes them, each with the signature's verdict, judged in turn against
 * one terminal's lesson under the sample configuration, syllabus and site
 * (conf/).  Input: a list of messages, each
 *   byte  bits 0-2 the signature's verdict (sig_result, modulo 5), bits
 *         3-7 minutes the clock moves on first
 *   WORD  length, then a 0x0900 body of that length (jtx.c's input).
 * Checked: the verdict's pointers point into the message or the lesson, a
 * refused message changes nothing but what lesson.h says it may, and the
 * lesson's texts stay terminated.
 */
#include "conf.h"
#include "fuzz.h"
#include "jtx.h"
#include "geo.h"
#include "lesson.h"
#include "syllabus.h"

static struct hconf *conf;
static struct syllabus *syl;
static struct geo_set *sites;

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	static char buf[1 << 16];
	if (!f)
		return NULL;
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	size_t len;
	conf = conf_load("conf/hoursd.yaml", err, sizeof(err));
	syl = syllabus_load("conf/syllabus.yaml", err, sizeof(err));
	const char *geo = slurp("conf/site-sample.geojson", &len);
	struct geo_site *site = geo ? geo_site_parse(geo, len, err, sizeof(err)) : NULL;
	sites = geo_set_new();
	if (!conf || !syl || !site || !sites || !geo_set_add(sites, 1, "sample", site)) {
		fprintf(stderr, "fuzz lesson: run from the source tree (conf/): %s\n", err);
		abort();
	}
	return 0;
}

static bool terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool within(const void *p, const void *base, size_t len)
{
	return (const char *)p >= (const char *)base && (const char *)p < (const char *)base + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct lesson l = {.active = true,
			   .terminal_no = "3100000000000006",
			   .school_id = 1,
			   .vehicle_class = "C1"};
	time_t now = 1764000000 + 600;

	while (in.n >= 3) {
		uint8_t a = fuzz_byte(&in);
		size_t n;
		const uint8_t *body = fuzz_take(&in, fuzz_u16(&in), &n);
		struct jtx_header h;
		struct lesson_msg m;
		now += (a >> 3) * 60;
		if (jtx_parse(body, n, &h) != JTX_OK || lesson_decode(&h, &m) != JTX_OK)
			continue;
		m.sig = (enum sig_result)((a & 7) % 5);
		struct lesson before = l;
		struct lesson_env env = {.now = now, .conf = conf, .syl = syl, .sites = sites};
		struct lesson_verdict v = lesson_judge(&l, &m, &env);
		FUZZ_ASSERT(v.action <= LESSON_REFUSE);
		FUZZ_ASSERT(v.why == NULL || strlen(v.why) < 256);
		FUZZ_ASSERT(v.record == NULL || v.record == &m.record);
		FUZZ_ASSERT(v.photo_data == NULL || v.photo_data == &m.photo_data);
		FUZZ_ASSERT(v.photo == NULL || within(v.photo, &l, sizeof(l)) ||
			    v.photo == &m.photo_init);
		FUZZ_ASSERT(terminated(l.coach_no, sizeof(l.coach_no)));
		FUZZ_ASSERT(terminated(l.student_no, sizeof(l.student_no)));
		FUZZ_ASSERT(terminated(l.student_coach_no, sizeof(l.student_coach_no)));
		/* the terminal's facts never change */
		FUZZ_ASSERT(strcmp(l.terminal_no, before.terminal_no) == 0);
		FUZZ_ASSERT(l.school_id == before.school_id && l.active == before.active);
		if (v.action == LESSON_STORE_EVENT)
			FUZZ_ASSERT(v.event.kind != NULL);
	}
	return 0;
}
