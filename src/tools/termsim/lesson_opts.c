/*
 * lesson_opts.c - the options of termsim's lesson (termsim.h): their
 * usage lines, their defaults, every value read, the checks across them.
 */
#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"
#include "lesson.h"
#include "log.h"
#include "termsim.h"

#include <time.h>
#include <sys/stat.h>

#define LESSON_MINUTES_MAX 9999 /* four-digit sequences in the record numbers */
#define LESSON_SEQ_MAX 9999
#define TIME_MIN 946684800LL /* 2000-01-01: BCD times hold 2000-2099 */
#define TIME_MAX 4102444799LL

const char termsim_lesson_usage[] =
	"lesson (timing-training extension: 0x0900 type 0x13), after authentication:\n"
	"  --lesson N            coach login, student login, N records (one a minute\n"
	"                        of the record clock), student logout, coach logout\n"
	"  --sign-key F          PEM key signing every message: RSA, EC P-256 or SM2\n"
	"                        (default: timing layout, the registration answer's\n"
	"                        key; else --key); all is signed before the timed\n"
	"                        part (timing layout: after the registration answer).\n"
	"                        RSA signs the bare digest in the timing layout, the\n"
	"                        DigestInfo form in 2013/2019\n"
	"  --unsigned            extension properties 0x0002, no signature (0x0022\n"
	"                        otherwise); records still expected answered 0\n"
	"  --reupload            records as uploaded again on the platform's command\n"
	"                        (0x8205): upload type 2, properties bit 0; one\n"
	"                        already stored is answered as stored\n"
	"  --terminal-no S       16 characters (default: timing layout, the\n"
	"                        registration answer's; else T + the phone, 15 digits)\n"
	"  records in the timing layout carry the GNSS extras 0x01 (mileage) and 0x05\n"
	"  (engine speed) and a recorder speed near the satellite speed\n"
	"  --coach NO --student NO  16 characters (C000000000000001, S000000000000001)\n"
	"  --class-id N (1)  --course DIGITS (default 1212010000: vehicle, C1, part 2)\n"
	"  --record-start EPOCH  record 1's time (default now - N*60); then +60 s each\n"
	"  --record-seq N        record 1's 4-digit sequence in the record number (1)\n"
	"  --records-file F      append \"<record_no> <result>\" per record answered\n"
	"  --no-login            no coach or student login: the lesson is open on the\n"
	"                        server already (left open by an earlier run, e.g.\n"
	"                        with --no-logout); its records must be answered 0\n"
	"  --resume              --no-login, and records as the lesson's first run\n"
	"                        sent them from record --record-seq on (route and\n"
	"                        odometer): what a terminal resends after a\n"
	"                        reconnect, answered as stored the first time\n"
	"  --no-logout           no student or coach logout: the lesson is left open\n"
	"  --photo BYTES         after the student login, a photo init (0x0305) and\n"
	"                        the photo data (0x0306) in sub-packages of 1000 bytes\n"
	"                        (the server reassembles at most 128 pieces)\n"
	"  --photo-order forward|reverse   --photo-drop K (piece K never sent)\n"
	"  --photo-file FILE     --photo with FILE's bytes (a JPEG, say) instead of\n"
	"                        made-up ones\n"
	"  --photo-no DIGITS     the photo's number: P and 9 digits (default: the\n"
	"                        clock's milliseconds)\n"
	"  faults: --tamper K (record K's signature spoilt); --reuse K (after the\n"
	"          records, another record under record K's number); --no-session\n"
	"          (no logins or logouts, and no lesson open on the server: the\n"
	"          records must be refused; to continue an open lesson, --no-login);\n"
	"          --resend K (record K again, the same bytes, after the records)\n"
	"  sent again (the same bytes, so the same options and --record-start):\n"
	"  --only KINDS          of the lesson built, send only these: a comma list\n"
	"                        of coach_login, student_login, photo_init,\n"
	"                        photo_data, records, student_logout, coach_logout\n"
	"                        (what a terminal sends again after a reconnect when\n"
	"                        their answers were lost: answered as the first time)\n"
	"  --again KINDS         after the lesson, these sent again on the same\n"
	"                        connection, each expected answered as the first time\n"
	"  --rate paces records per terminal.  With --terminals, terminal i (from 0)\n"
	"  adds i to the trailing digits of --terminal-no, --coach and --student:\n"
	"  hoursd refuses a student or coach in two vehicles in one minute, so a run\n"
	"  repeated over the same minutes needs other --record-start or numbers.\n"
	"  Lesson exit status: 0 when every login and logout is answered 1, the\n"
	"  photo init 0 (go ahead), the photo 0 and every record 0 -- except records\n"
	"  broken on purpose (--tamper, --reuse, --no-session; a --resend like its\n"
	"  record), which must be answered non-zero: one of those answered 0 is a\n"
	"  server bug and exits 1.  A photo with a dropped piece must get no answer\n"
	"  (photo_result=-1).\n";

void termsim_lesson_defaults(struct lesson_opts *l)
{
	struct jtx_course c = {.mode = 1, .part = 2, .subject = 1, .vehicle_class = "C1"};
	uint8_t bcd[5];

	*l = (struct lesson_opts){.minutes = -1,
				  .coach_no = "C000000000000001",
				  .student_no = "S000000000000001",
				  .class_id = 1,
				  .record_seq = 1,
				  .photo_bytes = -1};
	if (!jtx_course_encode(&c, bcd) || jtx_course_decode(bcd, &l->course) != JTX_OK)
		log_error("the default course code does not encode");
}

static bool parse_number16(const char *arg, const char **out)
{
	size_t n = strlen(arg);

	for (size_t i = 0; i < n; i++)
		if (arg[i] <= 0x20 || arg[i] > 0x7e)
			return false;
	*out = arg;
	return n == JTX_PERSON_NO_LEN;
}

static bool parse_course(const char *arg, struct jtx_course *c)
{
	uint8_t bcd[5];

	return strlen(arg) == JTX_COURSE_DIGITS && strspn(arg, "0123456789") == JTX_COURSE_DIGITS &&
	       jt808_str_to_bcd(arg, bcd, 5) && jtx_course_decode(bcd, c) == JTX_OK;
}

static bool parse_u32(const char *arg, uint32_t *out)
{
	long v;

	if (!termsim_parse_long(arg, 0, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_epoch(const char *arg, long long *out, bool *set)
{
	long v;

	if (!termsim_parse_long(arg, TIME_MIN, TIME_MAX, &v))
		return false;
	*out = v;
	*set = true;
	return true;
}

/* A comma list of message kinds (--only, --again) as a set of roles. */
static bool parse_kinds(const char *arg, unsigned *set)
{
	static const struct {
		const char *name;
		unsigned roles;
	} kinds[] = {{"coach_login", 1u << R_COACH_IN},	 {"student_login", 1u << R_STUDENT_IN},
		     {"photo_init", 1u << R_PHOTO_INIT}, {"photo_data", 1u << R_PHOTO_DATA},
		     {"records", 1u << R_RECORD},	 {"student_logout", 1u << R_STUDENT_OUT},
		     {"coach_logout", 1u << R_COACH_OUT}};
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", arg);
	*set = 0;
	for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i = 0;

		while (i < ARRAY_SIZE(kinds) && strcmp(kinds[i].name, w) != 0)
			i++;
		if (i == ARRAY_SIZE(kinds))
			return false;
		*set |= kinds[i].roles;
	}
	return *set != 0;
}

static bool lesson_num_opt(struct lesson_opts *l, int c, const char *arg)
{
	switch (c) {
	case O_LESSON:
		return termsim_parse_long(arg, 0, LESSON_MINUTES_MAX, &l->minutes);
	case O_CLASS_ID:
		return parse_u32(arg, &l->class_id);
	case O_RECORD_START:
		return parse_epoch(arg, &l->record_start, &l->record_start_set);
	case O_RECORD_SEQ:
		return termsim_parse_long(arg, 0, LESSON_SEQ_MAX, &l->record_seq);
	case O_TAMPER:
		return termsim_parse_long(arg, 1, LESSON_MINUTES_MAX, &l->tamper);
	case O_RESEND:
		return termsim_parse_long(arg, 1, LESSON_MINUTES_MAX, &l->resend);
	case O_REUSE:
		return termsim_parse_long(arg, 1, LESSON_MINUTES_MAX, &l->reuse);
	case O_PHOTO:
		return termsim_parse_long(arg, 0, SIM_PHOTO_MAX, &l->photo_bytes);
	case O_PHOTO_DROP:
		return termsim_parse_long(arg, 1, UINT16_MAX, &l->photo_drop);
	default:
		return false;
	}
}

bool termsim_lesson_opt(struct lesson_opts *l, int c, const char *arg)
{
	switch (c) {
	case O_SIGN_KEY:
		l->sign_key = arg;
		return true;
	case O_TERMINAL_NO:
		return parse_number16(arg, &l->terminal_no);
	case O_COACH:
		return parse_number16(arg, &l->coach_no);
	case O_STUDENT:
		return parse_number16(arg, &l->student_no);
	case O_COURSE:
		return parse_course(arg, &l->course);
	case O_NO_SESSION:
		l->no_session = true;
		return true;
	case O_NO_LOGIN:
		l->no_login = true;
		return true;
	case O_RESUME:
		l->no_login = l->resume = true;
		return true;
	case O_NO_LOGOUT:
		l->no_logout = true;
		return true;
	case O_UNSIGNED:
		l->unsigned_msgs = true;
		return true;
	case O_REUPLOAD:
		l->reupload = true;
		return true;
	case O_PHOTO_FILE: {
		struct stat st;
		if (stat(arg, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > SIM_PHOTO_MAX) {
			log_error("--photo-file %s: not a readable file of at most %ld bytes", arg,
				  SIM_PHOTO_MAX);
			return false;
		}
		l->photo_file = arg;
		l->photo_bytes = (long)st.st_size;
		return true;
	}
	case O_PHOTO_ORDER:
		l->photo_reverse = strcmp(arg, "reverse") == 0;
		return l->photo_reverse || strcmp(arg, "forward") == 0;
	case O_RECORDS_FILE:
		l->records_file = arg;
		return true;
	case O_ONLY:
		return parse_kinds(arg, &l->only);
	case O_AGAIN:
		return parse_kinds(arg, &l->again);
	case O_PHOTO_NO:
		l->photo_no = arg;
		return strlen(arg) == JTX_PHOTO_NO_LEN - 1 &&
		       strspn(arg, "0123456789") == strlen(arg);
	default:
		return lesson_num_opt(l, c, arg);
	}
}

/* The numbers of the last terminal still fit their digits. */
static bool check_numbers(const struct opts *o)
{
	const struct lesson_opts *l = &o->l;
	const char *base[] = {l->terminal_no, l->coach_no, l->student_no};
	char out[JTX_PERSON_NO_LEN + 1];

	for (size_t i = 0; i < ARRAY_SIZE(base); i++) {
		if (base[i] &&
		    !termsim_number_plus(base[i], (unsigned)o->terminals - 1, out, sizeof(out))) {
			log_error("--terminals %d: %s plus %d overflows its trailing digits",
				  o->terminals, base[i], o->terminals - 1);
			return false;
		}
	}
	return true;
}

static bool check_faults(const struct lesson_opts *l)
{
	if (l->tamper > l->minutes || l->resend > l->minutes || l->reuse > l->minutes) {
		log_error("--tamper, --resend and --reuse name a record from 1 to --lesson");
		return false;
	}
	if (l->record_seq + l->minutes - 1 > LESSON_SEQ_MAX) {
		log_error("--record-seq %ld + %ld records exceed 4 digits", l->record_seq,
			  l->minutes);
		return false;
	}
	if ((l->photo_drop || l->photo_reverse) && l->photo_bytes < 0) {
		log_error("--photo-order and --photo-drop need --photo BYTES");
		return false;
	}
	if (l->unsigned_msgs && l->tamper) {
		log_error("--tamper spoils a signature: not with --unsigned");
		return false;
	}
	return true;
}

/*
 * Lesson options given without --lesson.  The timing layout's
 * authentication uses the key and the terminal number too.
 */
static bool lesson_opts_unused(const struct opts *o)
{
	const struct lesson_opts *l = &o->l;

	if (o->layout != JT808_LTIMING && (l->sign_key || l->terminal_no))
		return true;
	return l->tamper || l->resend || l->reuse || l->no_session || l->no_login || l->no_logout ||
	       l->photo_bytes >= 0 || l->records_file || l->record_start_set || l->unsigned_msgs;
}

/* Where the lesson's key comes from: --sign-key, --key, or the timing registration. */
static bool lesson_has_key(const struct opts *o)
{
	const struct lesson_opts *l = &o->l;

	return l->unsigned_msgs || l->sign_key || o->key ||
	       (o->layout == JT808_LTIMING && !o->no_register);
}

bool termsim_lesson_check(struct opts *o)
{
	struct lesson_opts *l = &o->l;

	if (l->minutes < 0) {
		if (lesson_opts_unused(o))
			log_error("lesson options need --lesson N");
		return !lesson_opts_unused(o);
	}
	if (!lesson_has_key(o)) {
		log_error("--lesson needs --sign-key F (or --key F)");
		return false;
	}
	if (o->loop) {
		log_error("--lesson and --loop do not go together");
		return false;
	}
	if (!l->record_start_set)
		l->record_start = (long long)time(NULL) - l->minutes * 60;
	return check_faults(l) && check_numbers(o);
}
