/*
 * main.c - the integration suite (build/tests/check_integration): the real
 * daemon against a real PostgreSQL, driven by termsim over real TLS, one
 * topic a file and a TCase, over the shared harness (harness.h).  Run by
 * scripts/run-tests.sh, which sets the environment harness.h names.
 *
 * A new topic: tests/integration/TOPIC.c with its tests and, at its end,
 * TCase *tcase_TOPIC(void) (tcase_create, the fixture, a tcase_add_test a
 * test); its declaration in harness.h; its line in topics[] below.  The
 * Makefile builds every .c file of tests/integration/ into this program.
 */
#include "harness.h"

/* The order the topics run in. */
static TCase *(*const topics[])(void) = {
	tcase_lessons,	   /* lessons.c */
	tcase_daemon,	   /* daemon.c */
	tcase_push,	   /* push.c */
	tcase_findings,	   /* findings.c */
	tcase_national,	   /* national.c */
	tcase_students,	   /* students.c */
	tcase_registry,	   /* registry.c */
	tcase_cluster,	   /* cluster.c */
	tcase_supervision, /* supervision.c */
	tcase_evidence,	   /* evidence.c */
	tcase_checkpoints, /* checkpoints.c */
	tcase_hardening,   /* hardening.c */
	tcase_abuse,	   /* abuse.c */
	tcase_sql,	   /* sql.c */
	tcase_teachlog,	   /* teachlog.c */
	tcase_resend,	   /* resend.c */
	tcase_output,	   /* output.c */
	tcase_upward,	   /* upward.c */
	tcase_prove,	   /* prove.c */
	tcase_leaf,	   /* leaf.c */
	tcase_judge,	   /* judge.c */
};

int main(void)
{
	Suite *s = suite_create("integration");
	for (size_t i = 0; i < ARRAY_SIZE(topics); i++)
		suite_add_tcase(s, topics[i]());
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
