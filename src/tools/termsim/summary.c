/*
 * summary.c - the end of a run (termsim.h): the key=value summary on
 * stdout, totals over all terminals (the lesson's lines from
 * lesson_run.c), and the exit status: 0 all answered as expected, 1 a
 * failure or an early close, 3 timeout (no progress for --timeout s).
 */
#include "hoursd.h"
#include "jt808.h"
#include "termsim.h"

#include <inttypes.h>

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static double percentile_ms(const uint32_t *v, size_t n, unsigned pct)
{
	if (n == 0)
		return 0;
	return v[(n - 1) * pct / 100] / 1000.0;
}

/* The auth code came from the server: print it without control bytes. */
static void print_code(const char *code)
{
	fputs("auth_code=", stdout);
	for (const char *c = code; *c; c++)
		putchar(*c > 0x20 && *c < 0x7f ? *c : '?');
	putchar('\n');
}

static uint64_t member_value(const struct sim *s, size_t off, size_t size)
{
	const char *p = (const char *)s + off;
	uint64_t v64 = 0;
	unsigned vu = 0;
	bool vb = false;

	switch (size) {
	case sizeof(uint64_t):
		memcpy(&v64, p, sizeof(v64));
		return v64;
	case sizeof(unsigned):
		memcpy(&vu, p, sizeof(vu));
		return vu;
	default:
		memcpy(&vb, p, sizeof(vb));
		return vb;
	}
}

/* The total over the terminals of a uint64_t, unsigned or bool member. */
#define SUM_OF(r, type, member) sum_of(r, offsetof(struct sim, member), sizeof(type))
static uint64_t sum_of(const struct run *r, size_t off, size_t size)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < r->nsims; i++)
		sum += member_value(&r->sims[i], off, size);
	return sum;
}

/* A result over the terminals: the first one that is not good, else good. */
static int result_of(const struct run *r, size_t off, int good)
{
	for (unsigned i = 0; i < r->nsims; i++) {
		int v;

		memcpy(&v, (const char *)&r->sims[i] + off, sizeof(v));
		if (v != good)
			return v;
	}
	return good;
}

static void print_core(const struct run *r)
{
	printf("register_result=%d\n", result_of(r, offsetof(struct sim, reg_result), 0));
	print_code(r->sims[0].auth_code);
	printf("auth_result=%d\n", result_of(r, offsetof(struct sim, auth_result), 0));
	if (r->o.auth_twice)
		printf("auth_replay_result=%d\n",
		       result_of(r, offsetof(struct sim, auth_replay_result), 1));
	if (r->o.layout == JT808_LTIMING)
		printf("terminal_no=%s\n", r->sims[0].terminal_no);
	printf("heartbeats_acked=%" PRIu64 "\n", SUM_OF(r, uint64_t, hb_acked));
	printf("positions_sent=%" PRIu64 "\n", SUM_OF(r, uint64_t, pos_sent));
	printf("positions_acked=%" PRIu64 "\n", SUM_OF(r, uint64_t, pos_acked));
	printf("positions_failed=%" PRIu64 "\n", SUM_OF(r, uint64_t, pos_failed));
	printf("unknown_result=%d\n",
	       result_of(r, offsetof(struct sim, unknown_result), r->sims[0].unknown_result));
	printf("injected=%" PRIu64 "\n", SUM_OF(r, uint64_t, injected));
	printf("unanswered=%" PRIu64 "\n", SUM_OF(r, unsigned, inflight));
	printf("closed_by_server=%" PRIu64 "\n", SUM_OF(r, bool, closed));
	printf("connect_failed=%" PRIu64 "\n", SUM_OF(r, bool, connect_failed));
	printf("tls_failed=%" PRIu64 "\n", SUM_OF(r, bool, tls_failed));
	printf("commands_answered=%" PRIu64 "\n", SUM_OF(r, uint64_t, commands));
	if (r->o.layout == JT808_LTIMING && !r->o.no_register)
		printf("certificate_failed=%" PRIu64 "\n", SUM_OF(r, bool, cert_failed));
}

void termsim_summary(struct run *r)
{
	uint64_t end = r->t_end_us ? r->t_end_us : termsim_now_us();
	double secs = (double)(end - r->t_start_us) / 1e6;
	uint64_t acks = SUM_OF(r, uint64_t, acks);

	qsort(r->lat_us, r->nlat, sizeof(*r->lat_us), cmp_u32);
	if (r->nsims > 1)
		printf("terminals=%u\n", r->nsims);
	print_core(r);
	printf("elapsed_ms=%" PRIu64 "\n", (end - r->t_start_us) / 1000u);
	printf("acks_per_s=%.1f\n", secs > 0 ? (double)acks / secs : 0.0);
	printf("ack_latency_p50_ms=%.3f\n", percentile_ms(r->lat_us, r->nlat, 50));
	printf("ack_latency_p99_ms=%.3f\n", percentile_ms(r->lat_us, r->nlat, 99));
	if (r->o.l.minutes >= 0) {
		/* The records' answers alone: the logins, registration and authentication
		 * (a PKCS#12 in pieces, a signature checked) are slower and fewer. */
		qsort(r->rec_lat_us, r->nrec_lat, sizeof(*r->rec_lat_us), cmp_u32);
		printf("record_latency_p50_ms=%.3f\n",
		       percentile_ms(r->rec_lat_us, r->nrec_lat, 50));
		printf("record_latency_p99_ms=%.3f\n",
		       percentile_ms(r->rec_lat_us, r->nrec_lat, 99));
		termsim_lesson_summary(r);
	}
	fflush(stdout);
}

/* An answer or an event that says the run failed (not merely unfinished). */
static bool sim_failed(const struct sim *s)
{
	const struct opts *o = s->o;

	if (s->closed || s->connect_failed || s->tls_failed || s->pos_failed || s->badcheck_acked ||
	    s->cert_failed)
		return true;
	if (s->reg_result > 0 || s->auth_result > 0 || s->auth_replay_result == JT808_R_OK)
		return true;
	if (s->lesson && termsim_lesson_failed(s))
		return true;
	return o->inject == INJ_UNKNOWN && s->unknown_result != -1 &&
	       s->unknown_result != JT808_R_NOT_SUPPORTED;
}

/* Registration, authentication, every position and the lesson answered. */
static bool sim_complete(const struct sim *s)
{
	const struct opts *o = s->o;

	if ((!o->no_register && s->reg_result != 0) || (!o->no_auth && s->auth_result != 0))
		return false;
	if (o->l.minutes >= 0 && (!s->lesson || !termsim_lesson_complete(s)))
		return false;
	return s->inflight == 0 && s->pos_acked == s->pos_sent;
}

static int sim_exit_code(const struct sim *s)
{
	bool interrupted = s->run->interrupted;

	if (sim_failed(s))
		return EXIT_FAIL;
	if (interrupted && s->o->loop)
		return EXIT_DONE;
	if (s->timed_out)
		return EXIT_TIMEOUT;
	return sim_complete(s) && !interrupted ? EXIT_DONE : EXIT_FAIL;
}

/* A failure anywhere is 1; else a timeout anywhere is 3. */
int termsim_exit_code(const struct run *r)
{
	int rc = EXIT_DONE;

	for (unsigned i = 0; i < r->nsims; i++) {
		int e = sim_exit_code(&r->sims[i]);

		if (e == EXIT_FAIL)
			return EXIT_FAIL;
		if (e == EXIT_TIMEOUT)
			rc = EXIT_TIMEOUT;
	}
	return rc;
}
