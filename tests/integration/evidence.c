/*
 * evidence.c - audit verify reads what the terminals signed, certificates
 * by time, and every role's reads (docs/audit.md); the tcase "evidence".
 */
#include "harness.h"

#include <errno.h>

/* The superuser's statement, the triggers on: hoursd's chain stage links what it inserts. */
static void ev_superuser(const char *sql)
{
	PGconn *c = db_connect(test_ci);
	db_exec(c, sql);
	PQfinish(c);
}

/*
 * The forged record of issue 22: the superuser copies a genuine record
 * under another record number and time, its raw frame (and digest)
 * unchanged, with the triggers on, so that hoursd's own chain stage
 * appends its link at the head and signs a checkpoint over it.  The
 * chain and the rows verify; the frame does not say what the row says,
 * and one frame is stored twice: verify names both and exits 1.  A
 * session event changed the same way is named too.
 */
START_TEST(test_forged_record_reusing_signed_bytes)
{
	start_hoursd_as("ev_hoursd");
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 5 " PART3), 0);
	ck_assert_int_eq(out_value("records_ok"), 5);
	wait_logged();
	ck_assert_int_eq(sv_verify(NULL), 0);
	ck_assert(sv_said("frames: 5 training records, 4 session events, 0 photos checked"));
	ck_assert(sv_said("audit verify: clean"));

	ev_superuser("INSERT INTO training_record"
		     " SELECT terminal_id, 'FORGED' || substr(record_no, 7),"
		     "  record_time + interval '1 hour', student_no, coach_no, class_id,"
		     "  course_code, part, mode, vehicle_class, upload_type, record_status,"
		     "  max_speed_dkmh, mileage_dkm, lat_e6, lon_e6, fix_valid, gnss_time,"
		     "  session_login_at, verdict, reason, raw, raw_sha256, received_at,"
		     "  gnss_speed_dkmh, recorder_speed_dkmh, gnss_mileage_dkm, engine_rpm,"
		     "  altitude_m, fuel_dl, signed"
		     "  FROM training_record WHERE record_no = (SELECT max(record_no)"
		     "  FROM training_record)");
	ev_superuser(
		"INSERT INTO session_event (terminal_id, kind, event_time, person_no,"
		" coach_no, class_id, course_code, minutes, mileage_dkm, lat_e6, lon_e6,"
		" fix_valid, verdict, reason, ext_serial, raw, signed)"
		" SELECT terminal_id, kind, event_time - interval '1 day', person_no, coach_no,"
		" class_id, course_code, minutes, mileage_dkm, lat_e6, lon_e6, fix_valid,"
		" verdict, reason, ext_serial, raw, signed FROM session_event"
		" WHERE kind = 'coach_login'");
	wait_logged();
	stop_hoursd();
	ck_assert_int_eq(sv_verify(NULL), 1);
	/* the chain and the rows hold: hoursd linked the copy itself */
	ck_assert(!sv_said("chain: link"));
	ck_assert(!sv_said("row: "));
	ck_assert(sv_said("record FORGED"));
	ck_assert(sv_said(": column record_no: the frame says \""));
	ck_assert(sv_said(": column record_time: the frame says "));
	ck_assert(sv_said("one frame stored 2 times"));
	ck_assert(sv_said("session_event terminal 13800000001 coach_login"));
	ck_assert(sv_said(": column event_time: the frame says "));
	/* the genuine rows are not named */
	ck_assert_int_eq(count_lines_in(ctl_out, "frame: training_record terminal"), 3);
	ck_assert(sv_said("audit verify: 4 discrepancies"));
}
END_TEST

/*
 * A column changed behind hoursd's back and linked as it is now (the
 * superuser recomputes nothing: hoursd's chain stage links the changed
 * copy of a row deleted with the triggers off) is the frame's word
 * against the row's: each column named with both values.
 */
START_TEST(test_changed_columns_named)
{
	start_hoursd_as("ev_hoursd");
	ck_assert_int_eq(termsim("term-" T1, T1, "--lesson 3 " PART3), 0);
	wait_logged();
	stop_hoursd();
	sv_behind_the_back("UPDATE training_record SET student_no = 'S000000000000999',"
			   " mileage_dkm = mileage_dkm + 7, lat_e6 = lat_e6 + 1, gnss_time = NULL"
			   " WHERE record_no = (SELECT min(record_no) FROM training_record)");
	sv_behind_the_back("UPDATE training_record SET signed = false"
			   " WHERE record_no = (SELECT max(record_no) FROM training_record)");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said(": column student_no: the frame says \"S"));
	ck_assert(sv_said("the row \"S000000000000999\""));
	ck_assert(sv_said(": column mileage_dkm: the frame says "));
	ck_assert(sv_said(": column lat_e6: the frame says "));
	ck_assert(sv_said(": column gnss_time: the frame says "));
	ck_assert(sv_said("stored as unsigned, raw has a signature"));
}
END_TEST

/* A new RSA signing certificate for T2 into WORK/new-sign.crt and .key. */
static void new_sign_cert(void)
{
	char cmd[2000];
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/new-sign.key"
		 " -out %s/new-sign.crt -subj /CN=" T2 " -days 30 >/dev/null 2>&1",
		 work, work);
	ck_assert_int_eq(system(cmd), 0);
}

/*
 * A terminal's signing certificate replaced: the old one is kept with the
 * end of its time in force; hoursd takes a late upload signed before the
 * replacement; the records and events signed before verify against the
 * old certificate, those signed after against the new one, and verify is
 * clean.  Each record is checked with the certificate of its own time: an
 * old record is not taken with the new certificate.
 */
START_TEST(test_replaced_certificate_keeps_old_records)
{
	start_hoursd_as("ev_hoursd");
	long long before = (long long)time(NULL) - 600;
	ck_assert_int_eq(
		termsim("term-" T2, T2,
			words("--lesson 3 --record-start %lld %s --sign-key %s/sign-rsa-" T2 ".key",
			      before, PART3, pki)),
		0);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 3);
	new_sign_cert();
	ck_assert_int_eq(hoursctl_run("terminal add " T2 " --cert %s/term-" T2 ".crt"
				      " --sign-cert %s/new-sign.crt",
				      pki, work),
			 0);
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal_cert_history h JOIN terminal t"
				  " ON t.id = h.terminal_id WHERE t.phone = '13800000002'",
				  NULL, NULL),
			 2);
	ck_assert_int_eq(db_value("SELECT count(*) FROM terminal_cert_history"
				  " WHERE phone = '13800000002' AND in_force_until IS NOT NULL",
				  NULL, NULL),
			 1);
	/* hoursd takes a late upload signed before the replacement with the certificate then */
	ck_assert_int_eq(termsim("term-" T2, T2,
				 words("--lesson 2 --record-seq 20 --record-start %lld %s"
				       " --sign-key %s/sign-rsa-" T2 ".key",
				       before + 300, PART3, pki)),
			 0);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 5);
	sleep(2);
	/* its logins (two minutes before the first record) after the replacement too */
	ck_assert_int_eq(
		termsim("term-" T2, T2,
			words("--lesson 2 --record-seq 50 --record-start %lld %s --sign-key "
			      "%s/new-sign.key",
			      (long long)time(NULL) + 130, PART3, work)),
		0);
	ck_assert_int_eq(records_of(T2, "accepted", NULL), 7);
	wait_logged();
	stop_hoursd();
	ck_assert_int_eq(sv_verify(NULL), 0);
	ck_assert(sv_said("frames: 7 training records"));
	ck_assert(sv_said("audit verify: clean"));
	/* an old record claimed for the new certificate's time does not verify */
	sv_behind_the_back("UPDATE terminal_cert SET since = '2000-01-01 00:00Z'"
			   " WHERE since > '-infinity'");
	ck_assert_int_eq(sv_verify(NULL), 1);
	ck_assert(sv_said("bad signature, but stored accepted"));
}
END_TEST

/* Two schools in two districts, records on each, a pushed packet. */
static void ev_two_districts(void)
{
	ck_assert_int_eq(hoursctl_run("school set-district S001 east"), 0);
	ck_assert_int_eq(hoursctl_run("school add S002 Other --district west"), 0);
	ck_assert_int_eq(hoursctl_run("terminal assign " T2 " S002"), 0);
	seed_minutes("S000000000000081", 3, 1, 3, 10, morning(1), 10, 10, "EA");
	PGconn *c = db_connect(test_ci);
	db_exec(c, "INSERT INTO push_packet (id, student_no, part, vehicle_class)"
		   " VALUES (gen_random_uuid(), 'S000000000000081', 3, 'C1')");
	PQfinish(c);
}

/* hoursctl as role (a login of one of the four kinds); its exit status. */
static int ctl_as(const char *role, const char *line)
{
	char saved[sizeof(test_ci)];
	snprintf(saved, sizeof(saved), "%s", test_ci);
	int n = snprintf(test_ci, sizeof(test_ci), "%s user=%s", saved, role);
	ck_assert_int_lt(n, (int)sizeof(test_ci));
	int rc = hoursctl_run("%s", line);
	snprintf(test_ci, sizeof(test_ci), "%s", saved);
	return rc;
}

/* The district auditor's findings: every finding of its district, exit 0. */
START_TEST(test_district_auditor_findings)
{
	ev_two_districts();
	ck_assert_int_eq(hoursctl_run("role add district-auditor ev_east --district east"), 0);
	ck_assert_int_eq(ctl_as("ev_east", "findings"), 0);
	ck_assert_int_eq(count_lines_in(ctl_err, "permission denied"), 0);
	ck_assert_int_eq(ctl_as("ev_east", "findings --format csv"), 0);
	ck_assert_int_eq(sv_value("ev_east", "SELECT count(*) FROM finding_content_reduced"), 0);
}
END_TEST

/*
 * What each role may read, as docs/audit.md ("Roles") promises: the
 * auditor and hoursd read everything but the secrets, a district auditor
 * everything of its district but the chain (audit verify and audit
 * checkpoints are refused it), the liaison what was pushed only.  Every
 * finding view, every ```sql block of docs/audit.md and every read
 * command of hoursctl as each role: a permission error anywhere else fails.
 */
struct read_cmd {
	const char *line;
	const char *refused; /* the roles the docs refuse it ("" none), a letter each */
};
/* h hoursd, a auditor, d district auditor, l liaison */
static const struct read_cmd read_cmds[] = {
	{"terminal list", "l"},
	{"terminal commands", "l"},
	{"school list", "l"},
	{"site list", "l"},
	{"student list", "l"},
	{"student show S000000000000081", "l"},
	{"schedule list", "l"},
	{"backfill list", "l"},
	{"explain S000000000000081", "l"},
	{"recompute", "l"},
	{"findings", "l"},
	{"audit verify --key", "dl"},
	{"audit checkpoints", "dl"},
	{"push list", ""},
};
static const char *const role_names[4] = {"ev_hoursd", "ev_auditor", "ev_east", "ev_liaison"};
static const char role_letters[4] = {'h', 'a', 'd', 'l'};

static void ev_roles(void)
{
	ev_two_districts();
	ck_assert_int_eq(hoursctl_run("role add hoursd ev_hoursd"), 0);
	ck_assert_int_eq(hoursctl_run("role add auditor ev_auditor"), 0);
	ck_assert_int_eq(hoursctl_run("role add district-auditor ev_east --district east"), 0);
	ck_assert_int_eq(hoursctl_run("role add liaison ev_liaison"), 0);
}

START_TEST(test_every_role_every_read_command)
{
	ev_roles();
	for (size_t i = 0; i < ARRAY_SIZE(read_cmds); i++) {
		char line[1200];
		/* "--key" last: the checkpoints' public key of the test PKI */
		const char *l = read_cmds[i].line;
		size_t n = strlen(l);
		if (n > 5 && strcmp(l + n - 5, "--key") == 0)
			snprintf(line, sizeof(line), "%s %s/checkpoint.pub", l, pki);
		else
			snprintf(line, sizeof(line), "%s", l);
		for (int k = 0; k < 4; k++) {
			int rc = ctl_as(role_names[k], line);
			bool denied = count_lines_in(ctl_err, "permission denied") > 0;
			bool refused = strchr(read_cmds[i].refused, role_letters[k]) != NULL;
			if (refused)
				ck_assert_msg(rc == 1 && denied, "%s as %s: exit %d, not refused",
					      line, role_names[k], rc);
			else
				ck_assert_msg(!denied && rc != 2 && rc != -1,
					      "%s as %s: exit %d, permission denied", line,
					      role_names[k], rc);
		}
	}
}
END_TEST

/* Every finding view as each role: the liaison alone is refused. */
START_TEST(test_every_role_every_finding_view)
{
	ev_roles();
	PGconn *c = db_connect(test_ci);
	PGresult *r = PQexec(c, "SELECT viewname FROM pg_views WHERE schemaname = current_schema()"
				"  AND viewname LIKE 'finding\\_%' ORDER BY 1");
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_ge(PQntuples(r), 10);
	for (int i = 0; i < PQntuples(r); i++) {
		char sql[300], err[1024];
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", PQgetvalue(r, i, 0));
		for (int k = 0; k < 3; k++)
			ck_assert_msg(sv_try(role_names[k], sql, err, sizeof(err)), "%s as %s: %s",
				      sql, role_names[k], err);
		sv_refused("ev_liaison", sql, "permission denied");
	}
	PQclear(r);
	PQfinish(c);
}
END_TEST

/*
 * Every ```sql block of docs/audit.md as each role: hoursd and the
 * auditor run them all; a district auditor all but those that read the
 * chain (audit_chain, audit_checkpoint, audit_head: not granted it); the
 * liaison those that read what was pushed only.
 */
START_TEST(test_every_role_every_doc_query)
{
	ev_roles();
	char path[700], line[1024];
	snprintf(path, sizeof(path), "%s/docs/audit.md", repo);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	static char sql[16384];
	size_t len = 0;
	int blocks = 0, lineno = 0, start = 0;
	bool in = false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (!in && strncmp(line, "```sql", 6) == 0) {
			in = true;
			len = 0;
			start = lineno;
			continue;
		}
		if (in && strncmp(line, "```", 3) == 0) {
			in = false;
			sql[len] = '\0';
			/* what docs/audit.md ("Roles") keeps from district auditors */
			bool chain = strstr(sql, "audit_chain") ||
				     strstr(sql, "audit_checkpoint") || strstr(sql, "audit_head") ||
				     strstr(sql, "audit_pending") || strstr(sql, "audit_batch") ||
				     strstr(sql, "audit_log_") || strstr(sql, "auditor_district");
			for (int k = 0; k < 4; k++) {
				char err[1024];
				bool ok = sv_try(role_names[k], sql, err, sizeof(err));
				bool may_refuse = k == 3 || (k == 2 && chain);
				ck_assert_msg(
					ok || (may_refuse && strstr(err, "permission denied")),
					"docs/audit.md:%d as %s: %s", start, role_names[k], err);
			}
			blocks++;
			continue;
		}
		if (in && len + strlen(line) < sizeof(sql)) {
			memcpy(sql + len, line, strlen(line));
			len += strlen(line);
		}
	}
	fclose(f);
	ck_assert_int_ge(blocks, 5);
}
END_TEST

TCase *tcase_evidence(void)
{
	TCase *tc = tcase_create("evidence");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_forged_record_reusing_signed_bytes);
	tcase_add_test(tc, test_changed_columns_named);
	tcase_add_test(tc, test_replaced_certificate_keeps_old_records);
	tcase_add_test(tc, test_district_auditor_findings);
	tcase_add_test(tc, test_every_role_every_read_command);
	tcase_add_test(tc, test_every_role_every_finding_view);
	tcase_add_test(tc, test_every_role_every_doc_query);
	return tc;
}
