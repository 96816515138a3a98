/*
 * main.c - hoursctl, the operators' command line.
 *
 *   hoursctl [-c FILE | -d CONNINFO] COMMAND [SUBCOMMAND] [ARGS]
 *   hoursctl help [COMMAND [SUBCOMMAND]]     hoursctl COMMAND [SUBCOMMAND] --help
 *   hoursctl --help | --version
 *
 * The commands, their arguments and their lines of the usage are one
 * table, verbs[] at the end: the dispatch, the argument checks, the
 * errors and every help text are read from it, so they cannot drift
 * apart; each command's run function is in the file of its section
 * (hoursctl.h).  The arguments are checked before anything else; the
 * database is reached at the first statement (common/pgq.c), from -d,
 * else the database.conninfo of the configuration file given with -c
 * (common/cfg.c, read once), else $HOURSD_DB.  Exit status: 0 done,
 * 1 failed, 2 a usage error.  Short-lived and synchronous: blocking
 * libpq is right here.
 */
#include "hoursd.h"
#include "hoursctl.h"
#include "common/cfg.h"
#include "common/out.h"
#include "common/pgq.h"

#include <getopt.h>

#include "paths.h" /* HOURSD_SQLDIR, from make's DATADIR (build/gen/paths.h) */

struct verb {
	const char *word;	    /* "terminal" */
	const char *sub;	    /* "add", "disable|enable"; NULL: a command of one word */
	const char *params;	    /* the positionals as the usage names them, optional in [] */
	const char *opts[MAX_OPTS]; /* the options it takes, each with a value */
	int (*run)(const struct args *a);
	const char *usage; /* its lines of the usage, as the help prints them */
};

/* clang-format off */
static const struct verb verbs[] = {
	{"migrate", NULL, "", {"--dir"}, migrate_run,
	 "  migrate [--dir DIR]              apply the numbered migrations (NNN_NAME.sql)\n"
	 "                                   of DIR that the database has not applied yet;\n"
	 "                                   without --dir: the sql/ of the source tree when\n"
	 "                                   this hoursctl runs from its build directory,\n"
	 "                                   else " HOURSD_SQLDIR "\n"},
	{"terminal", "add", "NUMBER",
	 {"--cert", "--p12", "--p12-pass", "--sign-cert", "--terminal-no", "--imei", "--serial",
	  "--p12-pass-file", "--unbound"},
	 terminals_add,
	 "  terminal add NUMBER (--cert FILE | --p12 FILE (--p12-pass PASS | --p12-pass-file F))\n"
	 "               [--sign-cert FILE] [--terminal-no NO] [--imei IMEI] [--serial S]\n"
	 "               [--unbound WHY]\n"
	 "                                   provision a terminal: its TLS certificate\n"
	 "                                   (--cert), or the PKCS#12 the national CA\n"
	 "                                   issued it (--p12: handed out at registration,\n"
	 "                                   its certificate checks the terminal's\n"
	 "                                   signatures; its password, or F's first line),\n"
	 "                                   the certificate it signs with\n"
	 "                                   (default: the P12's, else the TLS one), its\n"
	 "                                   16-character timing number, and the IMEI and\n"
	 "                                   factory serial its registration must match\n"
	 "                                   (--p12 needs one of them: the registration\n"
	 "                                   hands the PKCS#12 and its password out; only\n"
	 "                                   --unbound WHY hands them to whoever gives\n"
	 "                                   NUMBER, and says so with WHY on stderr);\n"
	 "                                   NUMBER (1-20 digits) is kept without leading\n"
	 "                                   zeros (013800000001 as 13800000001), as\n"
	 "                                   terminals pad it differently; every command\n"
	 "                                   takes either form\n"},
	{"terminal", "list", "", {"--format"}, terminals_list,
	 "  terminal list [--format F]       list terminals (numbers without leading zeros),\n"
	 "                                   with records sent unsigned and records whose\n"
	 "                                   signature failed\n"},
	{"terminal", "quirk", "NUMBER escaped-sums|rsa-raw on|off", {NULL}, terminals_quirk,
	 "  terminal quirk NUMBER escaped-sums|rsa-raw on|off\n"
	 "                                   a device fault to accept from one terminal:\n"
	 "                                   length and check code over the escaped bytes;\n"
	 "                                   unpadded RSA signatures (docs/protocol.md)\n"},
	{"terminal", "fetch-records", "NUMBER", {"--from", "--to", "--count", "--expires"},
	 commands_fetch_records,
	 "  terminal fetch-records NUMBER --from TS --to TS [--count N] [--expires S]\n"
	 "                                   ask the terminal to upload its records of\n"
	 "                                   that time again (0x8205; TS: '2026-11-30\n"
	 "                                   08:00', China time, as every time is)\n"},
	{"terminal", "photo", "NUMBER", {"--channel", "--size", "--expires"}, commands_photo,
	 "  terminal photo NUMBER [--channel N] [--size N] [--expires S]\n"
	 "                                   ask the terminal to take a photo now (0x8301)\n"},
	{"terminal", "ban", "NUMBER on|off", {"--message", "--expires"}, commands_ban,
	 "  terminal ban NUMBER on|off [--message TEXT] [--expires S]\n"
	 "                                   stop or allow training on the terminal (0x8502)\n"},
	{"terminal", "commands", "[NUMBER]", {"--format"}, commands_list,
	 "  terminal commands [NUMBER] [--format F]\n"
	 "                                   the commands queued, sent and answered; a\n"
	 "                                   command waits for its terminal to authenticate\n"
	 "                                   on some hoursd, S seconds at most (default 1 day)\n"},
	{"terminal", "disable|enable", "NUMBER", {NULL}, terminals_status,
	 "  terminal disable|enable NUMBER   stop or allow a terminal's uploads\n"},
	{"terminal", "assign", "NUMBER SCHOOL_CODE", {NULL}, terminals_assign,
	 "  terminal assign NUMBER SCHOOL_CODE\n"
	 "                                   the school whose sites the terminal's minutes\n"
	 "                                   are checked against\n"},
	{"school", "add", "CODE NAME", {"--district"}, schools_add,
	 "  school add CODE NAME [--district D]\n"
	 "                                   add a school (or rename it); D: the district\n"
	 "                                   whose district auditors see it\n"},
	{"school", "set-district", "CODE DISTRICT|none", {NULL}, schools_set_district,
	 "  school set-district CODE DISTRICT|none\n"
	 "                                   the district whose district auditors see the\n"
	 "                                   school (none: no district)\n"},
	{"school", "seal", "CODE", {"--p12", "--pass-file"}, schools_seal,
	 "  school seal CODE --p12 FILE --pass-file FILE\n"
	 "                                   store the school's electronic seal (an RSA-2048\n"
	 "                                   key and its certificate in PKCS#12; the password\n"
	 "                                   the first line of the pass file): esignature of\n"
	 "                                   the national stage hours; readable by hoursd's\n"
	 "                                   role only\n"},
	{"school", "list", "", {"--format"}, schools_list,
	 "  school list [--format F]         list schools\n"},
	{"site", "import", "SCHOOL_CODE SITE_NAME FILE.geojson", {"--kind"}, schools_site_import,
	 "  site import SCHOOL_CODE SITE_NAME FILE.geojson [--kind field|road]\n"
	 "                                   validate and store a training site; the same\n"
	 "                                   name again replaces it (kind default: field,\n"
	 "                                   or the stored one)\n"},
	{"site", "list", "[SCHOOL_CODE]", {"--format"}, schools_site_list,
	 "  site list [SCHOOL_CODE] [--format F]\n"
	 "                                   list training sites\n"},
	{"coach", "add", "COACH", {"--school", "--name", "--teach", "--id-card", "--licence",
				  "--licensed", "--occupation", "--level", "--drive", "--employ",
				  "--hired", "--left"}, registry_coach_add,
	 "  coach add COACH --school CODE --name NAME --teach CLASSES [--id-card NO]\n"
	 "            [--licence NO --licensed DATE] [--occupation NO --level N]\n"
	 "            [--drive CLASSES] [--employ N] [--hired DATE] [--left DATE]\n"
	 "                                   register a coach (the 16-character national\n"
	 "                                   number) of a school, with the facts of the\n"
	 "                                   national /coach body: the classes they may\n"
	 "                                   teach (准教, \"C1 C2\") and drive (准驾), licence,\n"
	 "                                   occupation certificate, employment status (0\n"
	 "                                   employed), hire and leave dates; again with\n"
	 "                                   other facts or school: changed, with history\n"},
	{"coach", "import", "FILE.csv", {NULL}, registry_coach_import,
	 "  coach import FILE.csv            register the coaches of a CSV (columns\n"
	 "                                   coach_no, school, name, teach_classes [, id_card,\n"
	 "                                   licence_no, licensed_on, occupation_no,\n"
	 "                                   occupation_level, drive_classes, employ_status,\n"
	 "                                   hired_on, left_on]): every good row stored, each\n"
	 "                                   bad one reported as FILE:LINE: reason (exit 1);\n"
	 "                                   importing the file again changes nothing\n"},
	{"coach", "list", "", {"--school", "--format"}, registry_coach_list,
	 "  coach list [--school CODE] [--format F]\n"
	 "                                   the coaches, with the minutes accepted under\n"
	 "                                   them in the last 90 days\n"},
	{"coach", "show", "COACH", {"--format"}, registry_coach_show,
	 "  coach show COACH [--format F]    one coach's facts and history\n"},
	{"coach", "retire", "COACH", {NULL}, registry_coach_retire,
	 "  coach retire COACH               the coach leaves the registry: logins refused\n"
	 "                                   from now (rules.coach_retired), history kept\n"},
	{"vehicle", "add", "PLATE", {"--school", "--class", "--number", "--color", "--frame",
				    "--engine", "--make", "--model", "--bought", "--terminal"},
	 registry_vehicle_add,
	 "  vehicle add PLATE --school CODE --class C1 [--number NO] [--color COLOUR]\n"
	 "              [--frame NO] [--engine NO] [--make M] [--model M] [--bought DATE]\n"
	 "              [--terminal NUMBER]\n"
	 "                                   register a training vehicle of a school with\n"
	 "                                   the facts of the national /trainingcar body\n"
	 "                                   (--number: the national vehicle number), and\n"
	 "                                   bind a terminal to it; again with other facts\n"
	 "                                   or school: changed, with history\n"},
	{"vehicle", "import", "FILE.csv", {NULL}, registry_vehicle_import,
	 "  vehicle import FILE.csv          register the vehicles of a CSV (columns plate,\n"
	 "                                   school, class [, vehicle_no, plate_color,\n"
	 "                                   frame_no, engine_no, make, model, bought_on,\n"
	 "                                   terminal]), as coach import\n"},
	{"vehicle", "list", "", {"--school", "--format"}, registry_vehicle_list,
	 "  vehicle list [--school CODE] [--format F]\n"
	 "                                   the vehicles, with the terminal bound to each\n"},
	{"vehicle", "show", "PLATE", {"--format"}, registry_vehicle_show,
	 "  vehicle show PLATE [--format F]  one vehicle's facts, terminals and history\n"},
	{"vehicle", "retire", "PLATE", {NULL}, registry_vehicle_retire,
	 "  vehicle retire PLATE             the vehicle leaves the registry, history kept;\n"
	 "                                   a terminal still bound to it: logins refused\n"
	 "                                   (rules.vehicle_not_registered) until unbound\n"},
	{"vehicle", "bind", "PLATE TERMINAL", {NULL}, registry_vehicle_bind,
	 "  vehicle bind PLATE TERMINAL      the terminal is in that vehicle from now (out\n"
	 "                                   of any other: one vehicle at a time, /devassign)\n"},
	{"vehicle", "unbind", "TERMINAL", {NULL}, registry_vehicle_bind,
	 "  vehicle unbind TERMINAL          the terminal is in no vehicle from now\n"},
	{"student", "held", "STUDENT CLASS|none", {NULL}, students_held,
	 "  student held STUDENT CLASS|none  the licence the student already holds: adding\n"
	 "                                   a class, the syllabus's reduced figures apply\n"},
	{"student", "add", "STUDENT", {"--school", "--class", "--enrolled", "--id-card", "--legacy",
				      "--pre-entered"}, students_add,
	 "  student add STUDENT --school CODE --class C1 --enrolled DATE [--id-card NO]\n"
	 "              [--legacy PRE_ENTRY_DATE | --pre-entered DATE]\n"
	 "                                   enrol a student (the 16-character national\n"
	 "                                   number; dates YYYY-MM-DD); --legacy: pre-entered\n"
	 "                                   on the police platform on that date, before\n"
	 "                                   the terminals (back-filled hours, docs/students.md)\n"},
	{"student", "import", "FILE.csv", {NULL}, students_import,
	 "  student import FILE.csv          enrol the students of a CSV (columns student_no,\n"
	 "                                   school, class, enrolled_on [, id_card, legacy,\n"
	 "                                   pre_entered_on]): every good row stored, each bad\n"
	 "                                   one reported as FILE:LINE: reason (exit 1);\n"
	 "                                   importing the file again changes nothing\n"},
	{"student", "list", "", {"--school", "--format"}, students_list,
	 "  student list [--school CODE] [--format F]\n"
	 "                                   the students enrolled, with today's slots and\n"
	 "                                   their back-fill forms\n"},
	{"student", "show", "STUDENT", {"--format"}, students_show,
	 "  student show STUDENT [--format F]\n"
	 "                                   one student's enrolment and schedule\n"},
	{"schedule", "add", "STUDENT", {"--coach", "--vehicle", "--from", "--to"}, schedule_add,
	 "  schedule add STUDENT --coach NO --vehicle PLATE --from TIME --to TIME\n"
	 "                                   a slot: the student trains with that coach in\n"
	 "                                   that vehicle then (TIME: 'YYYY-MM-DD HH:MM',\n"
	 "                                   China Standard Time); a student login outside\n"
	 "                                   every slot is refused or flagged (rules.schedule)\n"},
	{"schedule", "import", "FILE.csv", {NULL}, schedule_import,
	 "  schedule import FILE.csv         the slots of a CSV (columns student_no, coach_no,\n"
	 "                                   plate, starts_at, ends_at), reported as student\n"
	 "                                   import is; again changes nothing\n"},
	{"schedule", "list", "", {"--student", "--day", "--format"}, schedule_list,
	 "  schedule list [--student S] [--day DATE] [--format F]\n"
	 "                                   the slots (DATE: YYYY-MM-DD, UTC+8)\n"},
	{"backfill", "import", "FORM", {"--scan"}, backfill_import,
	 "  backfill import FORM [--scan FILE]\n"
	 "                                   a legacy student's three-party form (JSON, or a\n"
	 "                                   CSV of forms) with its scanned paper form (PDF,\n"
	 "                                   PNG or JPEG: the form's \"scan\", or --scan\n"
	 "                                   for a JSON form);\n"
	 "                                   refused with the reason, nothing stored, unless\n"
	 "                                   the student is legacy and pre-entered before\n"
	 "                                   rules.legacy_cutoff (of -c FILE; default\n"
	 "                                   2023-05-25), the minutes are within the\n"
	 "                                   syllabus's for the part, and the form is new\n"},
	{"backfill", "approve|reject", "FORM", {"--by", "--note"}, backfill_decide,
	 "  backfill approve|reject FORM --by NAME [--note TEXT]\n"
	 "                                   a supervisor's decision, once per form (a\n"
	 "                                   rejection needs --note); an approved form\n"
	 "                                   counts toward its part from the judge's next\n"
	 "                                   batch, and a part it completes is pushed marked\n"
	 "                                   back-filled\n"},
	{"backfill", "list", "", {"--state", "--format"}, backfill_list,
	 "  backfill list [--state S] [--format F]\n"
	 "                                   the forms (S: pending, approved, rejected)\n"},
	{"backfill", "show", "FORM", {"--format"}, backfill_show,
	 "  backfill show FORM [--format F]\n"
	 "                                   one form as entered, its scan's SHA-256, its\n"
	 "                                   packet and every step with who and when\n"},
	{"explain", NULL, "STUDENT", {"--pdf", "--part"}, audit_explain,
	 "  explain STUDENT                  progress per part, the national platform's stage\n"
	 "                                   reviews (each refused record with its reason),\n"
	 "                                   the practice mileage and the\n"
	 "                                   licence held, the back-filled forms beside the\n"
	 "                                   terminals' minutes, and every minute that did not\n"
	 "                                   count with its reason (exit 1: no such student)\n"
	 "  explain STUDENT --pdf FILE [--part N]\n"
	 "                                   the teaching log (电子教学日志) of part N (default:\n"
	 "                                   the part last counted) as the school prints it\n"
	 "                                   for the student's file: school, student and\n"
	 "                                   their photo, lessons with coach, vehicle,\n"
	 "                                   times, minutes and photos (drawn, and their\n"
	 "                                   SHA-256), totals, back-filled forms, lines for\n"
	 "                                   the student's and the coach's signatures and\n"
	 "                                   the school's seal (the national push uploads\n"
	 "                                   the same log without photos or signatures)\n"},
	{"recompute", NULL, "[STUDENT]", {NULL}, audit_recompute,
	 "  recompute [STUDENT]              derive progress again from the stored records\n"
	 "                                   and report any difference (exit 1 if some)\n"},
	{"findings", NULL, "", {"--school", "--from", "--to", "--format"}, findings_run,
	 "  findings [--school CODE] [--from TS] [--to TS] [--format text|csv|json]\n"
	 "                                   the notice's violations found in the data,\n"
	 "                                   each with the rows that show it: minutes\n"
	 "                                   missing from lessons, parts met without all\n"
	 "                                   their subjects, signature, conflict and time\n"
	 "                                   anomalies per terminal and vendor, off-site\n"
	 "                                   minutes per school and coach, a coach in two\n"
	 "                                   places or over a day's load, low face-match\n"
	 "                                   confidence, vehicles without a terminal,\n"
	 "                                   silent terminals, a low share of real-time\n"
	 "                                   uploads; thresholds: findings.* of -c FILE\n"
	 "                                   (else their defaults); TS: '2026-07-01 00:00'\n"
	 "                                   (China time); exit 0 whatever is found\n"
	 "                                   (docs/audit.md)\n"},
	{"report", "quarterly", "QUARTER", {"--out"}, report_quarterly,
	 "  report quarterly QUARTER --out DIR\n"
	 "                                   the joint report of QUARTER (2026Q3) into DIR:\n"
	 "                                   supervision-Q.json and .csv (per school its\n"
	 "                                   coaches, vehicles, training grounds and the\n"
	 "                                   quarter's findings, for the police),\n"
	 "                                   quality-Q.csv (the public table of training\n"
	 "                                   quality) and the pages to publish, in Chinese\n"
	 "                                   first and readable on a phone: quality-Q.html\n"
	 "                                   (the schools ranked, with charts) and\n"
	 "                                   quality-Q-CODE.html (a school's quarter and\n"
	 "                                   the four before, its coaches, vehicles and\n"
	 "                                   grounds counted, its findings in plain words)\n"},
	{"report", "import-police", "FILE", {NULL}, report_import_police,
	 "  report import-police FILE        the police's figures per school from CSV:\n"
	 "                                   quarter,school_code,exam_pass_rate,\n"
	 "                                   violation_rate,accident_rate; bad rows are\n"
	 "                                   said (FILE:LINE: reason) and skipped, the\n"
	 "                                   good ones stored (exit 1 if any was bad)\n"},
	{"role", "add", "KIND NAME", {"--district", "--password-file"}, roles_add,
	 "  role add hoursd|auditor|district-auditor|liaison NAME [--district D]\n"
	 "           [--password-file F]\n"
	 "                                   a database login with the grants of its kind\n"
	 "                                   (docs/audit.md): hoursd appends, an auditor\n"
	 "                                   reads all but secrets, a district auditor the\n"
	 "                                   schools of district D only, the liaison what\n"
	 "                                   was pushed; F's first line is its password\n"},
	{"audit", "verify", "",
	 {"--from", "--to", "--school", "--key", "--witness", "--max-age"},
	 verify_audit,
	 "  audit verify [--from TS] [--to TS] [--school CODE] [--key FILE] [--witness FILE]\n"
	 "               [--max-age S]\n"
	 "                                   re-walk the old hash chain and the Merkle log\n"
	 "                                   (every batch's tree, link and rows) against\n"
	 "                                   the signed checkpoints (FILE: the checkpoint\n"
	 "                                   key or its public half, default\n"
	 "                                   audit.checkpoint_key of -c), each record's\n"
	 "                                   and event's stored frame decoded again against\n"
	 "                                   its row and its signature (the certificate in\n"
	 "                                   force then), a frame stored twice, progress\n"
	 "                                   against the records; a line per discrepancy\n"
	 "                                   (exit 1 if any).  With a key: no checkpoint of\n"
	 "                                   the log, a gap in their numbers, or the newest\n"
	 "                                   older than S seconds (default 3 times\n"
	 "                                   audit.checkpoint_interval_s of -c; 0: no limit)\n"
	 "                                   is a discrepancy; --witness: a file of what\n"
	 "                                   GET /v1/checkpoints served, of\n"
	 "                                   audit.checkpoint_file or of audit checkpoints\n"
	 "                                   --export to hold the database to\n"},
	{"audit", "checkpoints", "", {"--export", "--format"}, verify_checkpoints,
	 "  audit checkpoints [--export FILE] [--format F]\n"
	 "                                   the signed checkpoints of the old chain (F:\n"
	 "                                   text, csv or json); --export writes them and\n"
	 "                                   those of the log to FILE, a witness kept\n"
	 "                                   outside the database\n"},
	{"audit", "prove", "STUDENT PART", {"--out"}, proof_make,
	 "  audit prove STUDENT PART --out FILE\n"
	 "                                   the proof of the student's pushed part: one\n"
	 "                                   file (JSON) with the packet as pushed, each\n"
	 "                                   counted record's signed frame and its leaf in\n"
	 "                                   the audit log, the terminals' certificates in\n"
	 "                                   force then, each leaf's inclusion proof, the\n"
	 "                                   batches' links up to a signed checkpoint and\n"
	 "                                   that checkpoint (exit 1: not pushed, or not\n"
	 "                                   yet under a checkpoint)\n"},
	{"audit", "check-proof", "FILE", {"--ca", "--key"}, proof_check,
	 "  audit check-proof FILE --ca FILE --key FILE\n"
	 "                                   check a proof of audit prove without the\n"
	 "                                   database: the checkpoint's signature (--key: the\n"
	 "                                   checkpoint key or its public half), the links,\n"
	 "                                   each leaf's inclusion, each frame against its\n"
	 "                                   leaf and its signature, the certificates' chain\n"
	 "                                   to the CA (--ca), the packet's records; a line\n"
	 "                                   per minute proved, FAILED: and exit 1 on the\n"
	 "                                   first thing that does not hold\n"},
	{"push", "list", "", {"--state", "--format"}, outbox_list,
	 "  push list [--state S] [--format F]\n"
	 "                                   the push outbox (S: pending, sending, done,\n"
	 "                                   failed), oldest first\n"},
	{"push", "show", "ID", {"--format"}, outbox_show,
	 "  push show ID [--format F]        one packet: its body as sent and every attempt\n"
	 "                                   with status, latency, outcome and answer\n"},
	{"push", "retry", "ID", {NULL}, outbox_retry,
	 "  push retry ID                    re-drive a failed packet: pending now, same\n"
	 "                                   packet id, its maximum age counted anew\n"},
	{"push", "upward", "", {"--state", "--format"}, outbox_upward,
	 "  push upward [--state S] [--format F]\n"
	 "                                   the master data sent to the national platform\n"
	 "                                   (push.profile national), in the order sent:\n"
	 "                                   kind, number, state, the platform's errorcode\n"},
	{"push", "upward-retry", "ID", {NULL}, outbox_upward_retry,
	 "  push upward-retry ID             send a failed master-data item again, in its\n"
	 "                                   place in the order\n"},
};
/* clang-format on */

static const char usage_head[] = "usage: hoursctl [-c FILE | -d CONNINFO] COMMAND [ARGS]\n";

static void usage(FILE *f)
{
	fprintf(f, "%s", usage_head);
	fprintf(f,
		"       hoursctl help [COMMAND [SUBCOMMAND]]   (or COMMAND [SUBCOMMAND] --help)\n"
		"       hoursctl --help | --version\n"
		"The database: -d CONNINFO (a libpq connection string), else database.conninfo\n"
		"of the hoursd configuration FILE (-c), else $HOURSD_DB; it is reached only\n"
		"once the arguments are valid.  Exit status: 0 done, 1 failed, 2 usage error.\n"
		"Times: one rule for every command: a time without a zone ('2026-12-08 08:00')\n"
		"is China Standard Time (Asia/Shanghai), whatever PGTZ or the server says; a\n"
		"zone may be given ('2026-12-08 00:00+00'); times printed carry their offset.\n"
		"--format F (F: text, csv or json) of a list or show: aligned columns, CSV with a\n"
		"header line, or JSON (a list: an array of objects keyed by the column titles;\n"
		"a show: an object of its parts).  Imports, audit verify and report quarterly\n"
		"show a count and a rate on a terminal (nothing when stderr is not one).\n"
		"Commands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "%s", verbs[i].usage);
}

/* Whether s is one of the alternatives of subs ("disable|enable"). */
static bool sub_is(const char *subs, const char *s)
{
	size_t n = strlen(s);
	for (const char *p = subs; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
		if (strncmp(p, s, n) == 0 && (p[n] == '\0' || p[n] == '|'))
			return true;
	return false;
}

/* "add, list, ...": the commands, or the subcommands of word, as a list for a message. */
static const char *names_of(const char *word)
{
	static char buf[512];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(verbs) && len < sizeof(buf); i++) {
		const char *name = word ? verbs[i].sub : verbs[i].word;
		bool again = !word && i > 0 && strcmp(verbs[i - 1].word, name) == 0;
		if (again || (word && strcmp(verbs[i].word, word) != 0))
			continue;
		/* "disable|enable" is two names */
		for (const char *p = name; *p && len < sizeof(buf); p += *p == '|') {
			int n = (int)strcspn(p, "|");
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.*s",
						len ? ", " : "", n, p);
			p += n;
		}
	}
	return buf;
}

/*
 * The verb that words name: its index in verbs[], and in *used how many
 * words named it (1 or 2).  -1 (said) when there is none; -2 when only
 * the command of a group was given (word is words[0]), which help may
 * print and a run may not.
 */
static int find_verb(int n, char **words, int *used)
{
	size_t i = 0;
	while (i < ARRAY_SIZE(verbs) && strcmp(verbs[i].word, words[0]) != 0)
		i++;
	if (i == ARRAY_SIZE(verbs)) {
		fprintf(stderr, "hoursctl: unknown command \"%s\" (%s)\n", words[0],
			names_of(NULL));
		return -1;
	}
	*used = 1;
	if (verbs[i].sub == NULL)
		return (int)i;
	if (n < 2 || words[1][0] == '-')
		return -2;
	for (size_t k = i; k < ARRAY_SIZE(verbs) && strcmp(verbs[k].word, words[0]) == 0; k++)
		if (sub_is(verbs[k].sub, words[1])) {
			*used = 2;
			return (int)k;
		}
	fprintf(stderr, "hoursctl: %s: unknown subcommand \"%s\" (%s)\n", words[0], words[1],
		names_of(words[0]));
	return -1;
}

/* The usage lines of one verb, or of every verb of a group (k < 0: of word). */
static void usage_of(FILE *f, int k, const char *word)
{
	fprintf(f, "%s", usage_head);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (k >= 0 ? i == (size_t)k : strcmp(verbs[i].word, word) == 0)
			fprintf(f, "%s", verbs[i].usage);
}

/* hoursctl help [COMMAND [SUBCOMMAND]] */
static int cmd_help(int n, char **words)
{
	int used = 0;
	if (n == 0) {
		usage(stdout);
		return 0;
	}
	int k = find_verb(n, words, &used);
	if (k == -1)
		return 2;
	if (k == -2 && n > 1) {
		fprintf(stderr, "hoursctl: help: %s: unknown subcommand \"%s\" (%s)\n", words[0],
			words[1], names_of(words[0]));
		return 2;
	}
	if (n > used && k != -2) {
		fprintf(stderr, "hoursctl: help: unexpected \"%s\"\n", words[used]);
		return 2;
	}
	usage_of(stdout, k, words[0]);
	return 0;
}

/* The i-th name of params ("NUMBER SCHOOL_CODE", "[STUDENT]"), brackets off. */
static const char *param_name(const char *params, int i, char *buf, size_t len)
{
	const char *p = params;
	for (; i > 0 && p; i--)
		p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
	if (p == NULL)
		return "";
	p += *p == '[';
	size_t n = strcspn(p, " ]");
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

/* How many positionals params names, and how many of them are required. */
static void param_counts(const char *params, int *min, int *max)
{
	*min = *max = 0;
	for (const char *p = params; *p; p = strchr(p, ' ') ? strchr(p, ' ') + 1 : "") {
		(*max)++;
		*min += *p != '[';
	}
}

/* A terminal number as the commands take it: 1-20 digits, leading zeros or not. */
static bool valid_number(const char *name, const char *s)
{
	size_t n = strlen(s);
	if (n >= 1 && n <= 20 && strspn(s, "0123456789") == n)
		return true;
	fprintf(stderr, "hoursctl: %s: NUMBER \"%s\" is not a terminal number (1-20 digits)\n",
		name, s);
	return false;
}

/* The index of option s among the verb's; MAX_OPTS (said in one line) when it takes no such option.
 */
static size_t option_index(const struct verb *v, const char *name, const char *s)
{
	size_t k = 0;
	while (k < MAX_OPTS && v->opts[k] && strcmp(v->opts[k], s) != 0)
		k++;
	if (k < MAX_OPTS && v->opts[k])
		return k;
	char list[256] = "";
	for (size_t j = 0; j < MAX_OPTS && v->opts[j]; j++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", j ? ", " : "",
			 v->opts[j]);
	fprintf(stderr, "hoursctl: %s: unknown option %s (%s%s)\n", name, s,
		list[0] ? "it takes " : "it takes none", list);
	return MAX_OPTS;
}

/* argv[*i], an option of the verb, and its value; false (said in one line) otherwise. */
static bool take_option(const struct verb *v, const char *name, int argc, char **argv, int *i,
			struct args *a)
{
	const char *s = argv[*i];
	size_t k = option_index(v, name, s);
	if (k == MAX_OPTS)
		return false;
	if (*i + 1 >= argc) {
		fprintf(stderr, "hoursctl: %s: %s needs a value\n", name, s);
		return false;
	}
	if (a->opt[k]) {
		fprintf(stderr, "hoursctl: %s: %s given twice\n", name, s);
		return false;
	}
	a->opt[k] = argv[++*i];
	return true;
}

/*
 * Check the words after the verb's against it: its options, each once
 * and with a value; as many positionals as it names; a terminal NUMBER
 * of digits.  False (said in one line) otherwise; *help on --help / -h.
 */
static bool parse_args(const struct verb *v, const char *name, int argc, char **argv,
		       struct args *a, bool *help)
{
	int min, max, npos = 0;
	char pbuf[64];
	param_counts(v->params, &min, &max);
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
			*help = true;
			return true;
		}
		if (s[0] == '-' && s[1] != '\0') {
			if (!take_option(v, name, argc, argv, &i, a))
				return false;
		} else if (npos == max) {
			fprintf(stderr, "hoursctl: %s: unexpected argument \"%s\"\n", name, s);
			return false;
		} else {
			a->pos[npos++] = s;
		}
	}
	if (npos < min) {
		fprintf(stderr, "hoursctl: %s: missing %s\n", name,
			param_name(v->params, npos, pbuf, sizeof(pbuf)));
		return false;
	}
	for (int i = 0; i < npos; i++)
		if (strcmp(param_name(v->params, i, pbuf, sizeof(pbuf)), "NUMBER") == 0 &&
		    !valid_number(name, a->pos[i]))
			return false;
	return true;
}

/* A command line's words from COMMAND on: checked, then run (or its help printed). */
static int dispatch(int n, char **words)
{
	int used = 0;
	int k = find_verb(n, words, &used);
	if (k == -1)
		return 2;
	if (k == -2) {
		if (n >= 2 && (strcmp(words[1], "--help") == 0 || strcmp(words[1], "-h") == 0)) {
			usage_of(stdout, -1, words[0]);
			return 0;
		}
		if (n >= 2)
			fprintf(stderr, "hoursctl: %s: \"%s\": a subcommand first (%s)\n", words[0],
				words[1], names_of(words[0]));
		else
			fprintf(stderr, "hoursctl: %s: missing subcommand (%s)\n", words[0],
				names_of(words[0]));
		return 2;
	}
	const struct verb *v = &verbs[k];
	char name[64];
	snprintf(name, sizeof(name), "%s%s%s", v->word, used == 2 ? " " : "",
		 used == 2 ? words[1] : "");
	struct args a = {.sub = used == 2 ? words[1] : NULL};
	bool help = false;
	if (!parse_args(v, name, n - used, words + used, &a, &help))
		return 2;
	if (help) {
		usage_of(stdout, k, NULL);
		return 0;
	}
	/* --format, of every verb that names it (common/out.h) */
	for (size_t i = 0; i < MAX_OPTS && v->opts[i]; i++)
		if (strcmp(v->opts[i], "--format") == 0 && !out_set(name, a.opt[i]))
			return 2;
	return v->run(&a);
}

/* A wrong option before COMMAND: said. */
static void bad_global_option(char **argv)
{
	if (optopt == 'c' || optopt == 'd')
		fprintf(stderr, "hoursctl: -%c needs a value\n", optopt);
	else if (optopt)
		fprintf(stderr, "hoursctl: unknown option -%c (see hoursctl --help)\n", optopt);
	else
		fprintf(stderr, "hoursctl: unknown option %s (see hoursctl --help)\n",
			argv[optind - 1]);
}

/*
 * The options before COMMAND: -c FILE and -d CONNINFO kept (cfg.h,
 * pgq.h); -1 to go on, else the exit status (--help, --version, a usage
 * error).
 */
static int global_options(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *config = NULL, *dsn = NULL;
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "+c:d:hV", opts, NULL)) != -1) {
		if (o == 'c' || o == 'd') {
			*(o == 'c' ? &config : &dsn) = optarg;
			continue;
		}
		if (o == 'h')
			usage(stdout);
		else if (o == 'V')
			printf("hoursctl (hoursd) %s\n", HOURSD_VERSION);
		else
			bad_global_option(argv);
		return o == 'h' || o == 'V' ? 0 : 2;
	}
	if (config && dsn) {
		fprintf(stderr, "hoursctl: -c and -d: give one of them\n");
		return 2;
	}
	cfg_init(config);
	pgq_init(dsn);
	return -1;
}

int main(int argc, char **argv)
{
	int rc = global_options(argc, argv);
	if (rc >= 0)
		return rc;
	if (optind >= argc) {
		fprintf(stderr, "hoursctl: missing COMMAND (%s; hoursctl --help for more)\n",
			names_of(NULL));
		return 2;
	}
	int n = argc - optind;
	char **words = argv + optind;
	if (strcmp(words[0], "help") == 0)
		return cmd_help(n - 1, words + 1);
	rc = dispatch(n, words);
	if (pgq_status())
		rc = pgq_status();
	pgq_finish();
	cfg_free();
	return rc;
}
