/*
 * outbox.c - hoursctl push list, show and retry: the push outbox of
 * push_packet and push_attempt, and the re-drive of a failed packet.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/out.h"
#include "common/pgq.h"
#include "queries.h"

/*
 * An outbox's list, the packets' or the upward items' (the same four
 * states, the same --state): the rows of query in cols, or 2 with a
 * usage error for another state (cmd names the command).
 */
static int list_by_state(const char *cmd, const char *state, const char *query,
			 const struct pgq_col *cols, size_t ncols)
{
	static const char *const states[] = {"pending", "sending", "done", "failed"};
	size_t i = 0;
	while (state && i < ARRAY_SIZE(states) && strcmp(state, states[i]) != 0)
		i++;
	if (i == ARRAY_SIZE(states)) {
		fprintf(stderr,
			"hoursctl: %s: --state is pending, sending, done or failed, not \"%s\"\n",
			cmd, state);
		return 2;
	}
	const char *v[1] = {state};
	PGresult *r = pgq_query(query, 1, v);
	if (r == NULL)
		return 1;
	out_table(stdout, r, cols, ncols);
	PQclear(r);
	return 0;
}

/* push list [--state S] */
int outbox_list(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"id", PUSH_LIST_ID, 36, 0},
		{"student", PUSH_LIST_STUDENT_NO, 16, 0},
		{"part", PUSH_LIST_PART, 4, 0},
		{"state", PUSH_LIST_STATE, 7, 0},
		{"attempts", PUSH_LIST_ATTEMPTS, 8, 0},
		{"next attempt", PUSH_LIST_NEXT_ATTEMPT, 22, 0},
		{"last error", PUSH_LIST_LAST_ERROR, 0, 0},
	};
	return list_by_state("push list", a->opt[0], sql_push_list, cols, ARRAY_SIZE(cols));
}

/* A packet id as PostgreSQL reads a uuid, or a usage error before any query. */
static bool valid_uuid(const char *s)
{
	size_t n = strlen(s);
	bool ok = n == 36;
	for (size_t i = 0; ok && i < n; i++)
		ok = (i == 8 || i == 13 || i == 18 || i == 23)
			     ? s[i] == '-'
			     : strchr("0123456789abcdefABCDEF", s[i]) != NULL;
	if (!ok)
		fprintf(stderr, "hoursctl: a packet id is a UUID (8-4-4-4-12 hex digits)\n");
	return ok;
}

/* Every attempt of the packet: status, latency, outcome, the answer's start. */
static int show_attempts(const char *const v[1])
{
	static const struct pgq_col cols[] = {
		{"attempt", PUSH_SHOW_ATTEMPTS_ATTEMPT, 7, 0},
		{"started", PUSH_SHOW_ATTEMPTS_STARTED, 30, 0},
		{"status", PUSH_SHOW_ATTEMPTS_HTTP_STATUS, 6, 0},
		{"ms", PUSH_SHOW_ATTEMPTS_LATENCY_MS, 8, 0},
		{"outcome", PUSH_SHOW_ATTEMPTS_OUTCOME, 9, 0},
		{"answer (first 4 KiB)", PUSH_SHOW_ATTEMPTS_ANSWER, 0, 0},
	};
	PGresult *r = pgq_query(sql_push_show_attempts, 1, v);
	if (r == NULL)
		return 1;
	if (!out_show("attempts", r, false)) {
		printf("\nattempts: %d\n", PQntuples(r));
		pgq_table(stdout, r, cols, ARRAY_SIZE(cols));
	}
	PQclear(r);
	out_end(stdout);
	return 0;
}

/* push show ID: one packet, its body as sent, and every attempt. */
/*
 * The national platform's stage review of the packet (push_review), if
 * fetched: final or pending, valid, the minutes, the supervisor's PDF,
 * and each record it refused with the reason.  0, or 1 on error (said).
 */
static int show_review(const char **v)
{
	PGresult *r = pgq_query(sql_push_show_review, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) > 0) {
		const char *valid = PQgetvalue(r, 0, PUSH_SHOW_REVIEW_VALID);
		printf("  review: %s, errorcode %s, valid %s%s, validtime %s of needfultime %s, "
		       "pdfid %s\n          fetched %s (%s fetches), next fetch %s\n",
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_STATUS),
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_ERRORCODE), valid,
		       strcmp(valid, "1") == 0 ? " (approved)" : "",
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_VALIDTIME),
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_NEEDFULTIME),
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_PDFID),
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_FETCHED),
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_REVIEW_FETCHES),
		       PQgetvalue(r, 0, PUSH_SHOW_REVIEW_DUE));
		for (int i = 0; i < PQntuples(r); i++)
			if (!PQgetisnull(r, i, PUSH_SHOW_REVIEW_RNUM))
				printf("    refused rnum %s: %s\n",
				       PQgetvalue(r, i, PUSH_SHOW_REVIEW_RNUM),
				       PQgetisnull(r, i, PUSH_SHOW_REVIEW_REASON)
					       ? "(no reason given)"
					       : PQgetvalue(r, i, PUSH_SHOW_REVIEW_REASON));
	}
	PQclear(r);
	return 0;
}

int outbox_show(const struct args *a)
{
	const char *id = a->pos[0];
	const char *v[1] = {id};
	if (!valid_uuid(id))
		return 2;
	PGresult *r = pgq_query(sql_push_show, 1, v);
	if (r == NULL)
		return 1;
	if (PQntuples(r) == 0) {
		fprintf(stderr, "hoursctl: no packet %s\n", id);
		PQclear(r);
		return 1;
	}
	if (!out_show("packet", r, true))
		printf("packet %s\n  student %s, part %s, class %s\n  state %s, attempts %s\n"
		       "  created %s, next attempt %s, done %s, re-driven %s\n  last error: %s\n"
		       "  body: %s\n",
		       id, PQgetvalue(r, 0, PUSH_SHOW_STUDENT_NO), PQgetvalue(r, 0, PUSH_SHOW_PART),
		       PQgetvalue(r, 0, PUSH_SHOW_VEHICLE_CLASS), PQgetvalue(r, 0, PUSH_SHOW_STATE),
		       PQgetvalue(r, 0, PUSH_SHOW_ATTEMPTS), PQgetvalue(r, 0, PUSH_SHOW_CREATED),
		       PQgetvalue(r, 0, PUSH_SHOW_NEXT_ATTEMPT), PQgetvalue(r, 0, PUSH_SHOW_DONE),
		       PQgetvalue(r, 0, PUSH_SHOW_REDRIVEN), PQgetvalue(r, 0, PUSH_SHOW_LAST_ERROR),
		       PQgetvalue(r, 0, PUSH_SHOW_BODY));
	PQclear(r);
	return show_review(v) == 0 ? show_attempts(v) : 1;
}

/*
 * push retry ID: a failed packet goes back to pending, due now, with its
 * id and body (the platform deduplicates); its maximum age and its
 * backoff start again.  The re-drive is written into last_error for the
 * record.
 */
int outbox_retry(const struct args *a)
{
	const char *id = a->pos[0];
	const char *v[1] = {id};
	if (!valid_uuid(id))
		return 2;
	PGresult *r = pgq_query(sql_push_redrive, 1, v);
	if (r == NULL)
		return 1;
	int rc = 0;
	if (PQntuples(r) == 1) {
		printf("packet %s (student %s, part %s) re-driven: pending, due now\n", id,
		       PQgetvalue(r, 0, PUSH_REDRIVE_STUDENT_NO),
		       PQgetvalue(r, 0, PUSH_REDRIVE_PART));
	} else {
		PQclear(r);
		r = pgq_query(sql_push_state, 1, v);
		if (r && PQntuples(r) == 1)
			fprintf(stderr, "hoursctl: packet %s is %s, not failed: nothing to do\n",
				id, PQgetvalue(r, 0, PUSH_STATE_STATE));
		else if (r)
			fprintf(stderr, "hoursctl: no packet %s\n", id);
		rc = 1;
	}
	PQclear(r);
	return rc;
}

/* push upward [--state S]: the master data sent upward, in order (docs/push-contract.md 9.8). */
int outbox_upward(const struct args *a)
{
	static const struct pgq_col cols[] = {
		{"id", UPWARD_LIST_ID, 6, 0},
		{"kind", UPWARD_LIST_KIND, 13, 0},
		{"method", UPWARD_LIST_METHOD, 6, 0},
		{"number", UPWARD_LIST_NUMBER, 16, 0},
		{"state", UPWARD_LIST_STATE, 7, 0},
		{"attempts", UPWARD_LIST_ATTEMPTS, 8, 0},
		{"errorcode", UPWARD_LIST_ERRORCODE, 9, 0},
		{"last error", UPWARD_LIST_LAST_ERROR, 40, 0},
		{"review", UPWARD_LIST_REVIEW, 0, 0},
	};
	return list_by_state("push upward", a->opt[0], sql_upward_list, cols, ARRAY_SIZE(cols));
}

/* push upward-retry ID: a failed master-data item sent again, in its place in the order. */
int outbox_upward_retry(const struct args *a)
{
	const char *id = a->pos[0];
	if (id[0] == '\0' || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18) {
		fprintf(stderr, "hoursctl: an upward item's id is a number (push upward)\n");
		return 2;
	}
	const char *v[1] = {id};
	PGresult *r = pgq_query(sql_upward_redrive, 1, v);
	if (r == NULL)
		return 1;
	int rc = 0;
	if (PQntuples(r) == 1) {
		printf("upward item %s (%s %s) re-driven: pending, due now\n", id,
		       PQgetvalue(r, 0, UPWARD_REDRIVE_METHOD),
		       PQgetvalue(r, 0, UPWARD_REDRIVE_KIND));
	} else {
		fprintf(stderr, "hoursctl: no failed upward item %s: nothing to do\n", id);
		rc = 1;
	}
	PQclear(r);
	return rc;
}
