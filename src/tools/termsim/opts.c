/*
 * opts.c - termsim's options (termsim.h): the usage, every option read
 * (the lesson's by lesson_opts.c) and the checks across them once all
 * are read.
 */
#include "hoursd.h"
#include "jt808.h"
#include "log.h"
#include "termsim.h"

#include <errno.h>
#include <getopt.h>
#include <time.h>

#define SIM_ITEM_LEN (2 + JT808_LOCATION_LEN)
#define SIM_BATCH_MAX ((JT808_MAX_BODY - 3) / SIM_ITEM_LEN)
#define SIM_WINDOW_MAX 4096
#define SIM_TERMINALS_MAX 100000

static const char usage_text[] =
	"usage: termsim --phone DIGITS [options]\n"
	"By default a timing terminal: plain TCP, the national timing header, a\n"
	"registration whose answer brings the terminal number and a PKCS#12 with\n"
	"the terminal's key, then an authentication signed with that key.\n"
	"connection:\n"
	"  --host H (127.0.0.1)  --port P (8808)\n"
	"  --plain                           plain TCP (the default)\n"
	"  --tls                             TLS instead, with --ca (and --cert/--key)\n"
	"  --ca F --cert F --key F           TLS trust and client identity\n"
	"  --layout timing|2013|2019         header layout (timing: version 0x80,\n"
	"                                    BCD[8] phone, reserved byte 1 while a\n"
	"                                    student is logged in, else 0)\n"
	"  --v2019                           the same as --layout 2019\n"
	"  --phone DIGITS                    up to 16 (timing), 12 (2013) or 20 (2019)\n"
	"registration and authentication:\n"
	"  --no-register  --no-auth\n"
	"  --auth-code CODE                  2013/2019: the code, without registration\n"
	"  --imei N                          timing: 15 digits in the registration\n"
	"                                    (default 86 + the phone's last 13 digits)\n"
	"  --answers-twice                   timing: each answer to a command sent\n"
	"                                    twice, the same bytes (an answer whose\n"
	"                                    0x8001 was lost, sent again)\n"
	"  --drop-piece N                    ignore the first arrival of downlink\n"
	"                                    piece N: after 2 s termsim asks for it\n"
	"                                    (0x8003) and the server must resend it\n"
	"  --p12-out F                       timing: write the PKCS#12 (DER) of the\n"
	"                                    registration answer to F\n"
	"  --sign-key F                      timing: the key signing authentication\n"
	"                                    and lesson instead of the PKCS#12's;\n"
	"                                    required with --no-register\n"
	"  --terminal-no S                   timing: the 16-character terminal number\n"
	"                                    instead of the registration answer's\n"
	"                                    (without registration, default T + the\n"
	"                                    phone in 15 digits)\n"
	"  --auth-ts-offset S                timing: S seconds added to the\n"
	"                                    authentication's timestamp (stale: -600)\n"
	"  --auth-bad-sig                    timing: one byte of the signature flipped\n"
	"  --auth-twice                      the same authentication frame twice on\n"
	"                                    the connection, byte for byte: the second\n"
	"                                    (the replay) must be refused, else exit 1\n"
	"                                    (auth_replay_result in the summary)\n"
	"  Authentication refused: a log line and exit status 1.\n"
	"traffic:\n"
	"  --heartbeats N  --positions N  --batch K (0x0704, K <= 34)\n"
	"  --rate R (frames/s, 0 = window only)  --window W (16)  --timeout S (30)\n"
	"  --start-time EPOCH  --acked-file F  --loop  -v\n"
	"  --inject garbage|badcheck|oversize|subpkg-unfinished|unknown-msg\n"
	"  --terminals C                     C terminals in one event loop: phones\n"
	"                                    consecutive from --phone; \"{}\" in --cert,\n"
	"                                    --key, --sign-key, --p12-out is each one's\n"
	"                                    phone digits; --imei and --terminal-no\n"
	"                                    count up like the phone\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	fputs(termsim_lesson_usage, f);
}

/* Each terminal pads its own phone (sim_identity). */
static bool parse_phone(struct opts *o, const char *s)
{
	size_t n = strlen(s), want = jt808_phone_digits(o->layout);

	if (n == 0 || n > want || strspn(s, "0123456789") != n)
		return false;
	snprintf(o->phone_raw, sizeof(o->phone_raw), "%s", s);
	return true;
}

static bool parse_layout(struct opts *o, const char *s)
{
	static const struct {
		const char *name;
		enum jt808_layout l;
	} names[] = {{"timing", JT808_LTIMING}, {"2013", JT808_L2013}, {"2019", JT808_L2019}};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strcmp(s, names[i].name) == 0) {
			o->layout = (uint8_t)names[i].l;
			return true;
		}
	}
	return false;
}

static bool parse_imei(struct opts *o, const char *s)
{
	o->imei = s;
	return strlen(s) == 15 && strspn(s, "0123456789") == 15;
}

static bool parse_inject(struct opts *o, const char *s)
{
	for (size_t i = 1; i < ARRAY_SIZE(termsim_inject_names); i++) {
		if (strcmp(s, termsim_inject_names[i]) == 0) {
			o->inject = (enum inject_kind)i;
			return true;
		}
	}
	return false;
}

enum {
	O_HOST = 256,
	O_PORT,
	O_CA,
	O_CERT,
	O_KEY,
	O_PLAIN,
	O_PHONE,
	O_V2019,
	O_POSITIONS,
	O_BATCH,
	O_RATE,
	O_WINDOW,
	O_HEARTBEATS,
	O_TIMEOUT,
	O_NO_REGISTER,
	O_NO_AUTH,
	O_AUTH_CODE,
	O_START_TIME,
	O_ACKED_FILE,
	O_LOOP,
	O_INJECT,
	O_TERMINALS,
	O_TLS,
	O_LAYOUT,
	O_IMEI,
	O_DROP_PIECE,
	O_P12_OUT,
	O_AUTH_TS_OFFSET,
	O_AUTH_BAD_SIG,
	O_AUTH_TWICE,
	O_ANSWERS_TWICE,
};

static const struct option long_opts[] = {
	{"host", required_argument, NULL, O_HOST},
	{"port", required_argument, NULL, O_PORT},
	{"ca", required_argument, NULL, O_CA},
	{"cert", required_argument, NULL, O_CERT},
	{"key", required_argument, NULL, O_KEY},
	{"plain", no_argument, NULL, O_PLAIN},
	{"phone", required_argument, NULL, O_PHONE},
	{"v2019", no_argument, NULL, O_V2019},
	{"positions", required_argument, NULL, O_POSITIONS},
	{"batch", required_argument, NULL, O_BATCH},
	{"rate", required_argument, NULL, O_RATE},
	{"window", required_argument, NULL, O_WINDOW},
	{"heartbeats", required_argument, NULL, O_HEARTBEATS},
	{"timeout", required_argument, NULL, O_TIMEOUT},
	{"no-register", no_argument, NULL, O_NO_REGISTER},
	{"no-auth", no_argument, NULL, O_NO_AUTH},
	{"auth-code", required_argument, NULL, O_AUTH_CODE},
	{"start-time", required_argument, NULL, O_START_TIME},
	{"acked-file", required_argument, NULL, O_ACKED_FILE},
	{"loop", no_argument, NULL, O_LOOP},
	{"inject", required_argument, NULL, O_INJECT},
	{"terminals", required_argument, NULL, O_TERMINALS},
	{"tls", no_argument, NULL, O_TLS},
	{"layout", required_argument, NULL, O_LAYOUT},
	{"imei", required_argument, NULL, O_IMEI},
	{"drop-piece", required_argument, NULL, O_DROP_PIECE},
	{"p12-out", required_argument, NULL, O_P12_OUT},
	{"auth-ts-offset", required_argument, NULL, O_AUTH_TS_OFFSET},
	{"auth-bad-sig", no_argument, NULL, O_AUTH_BAD_SIG},
	{"auth-twice", no_argument, NULL, O_AUTH_TWICE},
	{"answers-twice", no_argument, NULL, O_ANSWERS_TWICE},
	{"unsigned", no_argument, NULL, O_UNSIGNED},
	{"reupload", no_argument, NULL, O_REUPLOAD},
	{"lesson", required_argument, NULL, O_LESSON},
	{"sign-key", required_argument, NULL, O_SIGN_KEY},
	{"terminal-no", required_argument, NULL, O_TERMINAL_NO},
	{"coach", required_argument, NULL, O_COACH},
	{"student", required_argument, NULL, O_STUDENT},
	{"class-id", required_argument, NULL, O_CLASS_ID},
	{"course", required_argument, NULL, O_COURSE},
	{"record-start", required_argument, NULL, O_RECORD_START},
	{"record-seq", required_argument, NULL, O_RECORD_SEQ},
	{"tamper", required_argument, NULL, O_TAMPER},
	{"resend", required_argument, NULL, O_RESEND},
	{"reuse", required_argument, NULL, O_REUSE},
	{"no-session", no_argument, NULL, O_NO_SESSION},
	{"no-login", no_argument, NULL, O_NO_LOGIN},
	{"resume", no_argument, NULL, O_RESUME},
	{"no-logout", no_argument, NULL, O_NO_LOGOUT},
	{"photo", required_argument, NULL, O_PHOTO},
	{"photo-order", required_argument, NULL, O_PHOTO_ORDER},
	{"photo-drop", required_argument, NULL, O_PHOTO_DROP},
	{"photo-file", required_argument, NULL, O_PHOTO_FILE},
	{"records-file", required_argument, NULL, O_RECORDS_FILE},
	{"only", required_argument, NULL, O_ONLY},
	{"again", required_argument, NULL, O_AGAIN},
	{"photo-no", required_argument, NULL, O_PHOTO_NO},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static bool parse_rate(const char *arg, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(arg, &end);
	return !errno && end != arg && !*end && *out >= 0 && *out <= 1e7;
}

static bool parse_int(const char *s, long min, long max, int *out)
{
	long v;

	if (!termsim_parse_long(s, min, max, &v))
		return false;
	*out = (int)v;
	return true;
}

static bool parse_start_time(struct opts *o, const char *arg)
{
	long v;

	if (!termsim_parse_long(arg, 0, 4102444800L, &v))
		return false;
	o->start_time = v;
	o->start_time_set = true;
	return true;
}

/* Options with a number; false on a bad value. */
static bool apply_num_opt(struct opts *o, int c, const char *arg)
{
	int port;

	switch (c) {
	case O_PORT:
		o->port = arg;
		return parse_int(arg, 1, 65535, &port);
	case O_POSITIONS:
		return termsim_parse_long(arg, 0, 100000000, &o->positions);
	case O_HEARTBEATS:
		return termsim_parse_long(arg, 0, 100000000, &o->heartbeats);
	case O_BATCH:
		return parse_int(arg, 0, SIM_BATCH_MAX, &o->batch);
	case O_RATE:
		return parse_rate(arg, &o->rate);
	case O_WINDOW:
		return parse_int(arg, 1, SIM_WINDOW_MAX, &o->window);
	case O_TIMEOUT:
		return parse_int(arg, 1, 86400, &o->timeout_s);
	case O_START_TIME:
		return parse_start_time(o, arg);
	case O_TERMINALS:
		return parse_int(arg, 1, SIM_TERMINALS_MAX, &o->terminals);
	case O_DROP_PIECE:
		return termsim_parse_long(arg, 1, UINT16_MAX, &o->drop_piece);
	case O_AUTH_TS_OFFSET:
		return termsim_parse_long(arg, -100000000, 100000000, &o->auth_ts_offset);
	default:
		return termsim_lesson_opt(&o->l, c, arg);
	}
}

/* Where the value of a text option goes; NULL for another option. */
static const char **text_slot(struct opts *o, int c)
{
	switch (c) {
	case O_HOST:
		return &o->host;
	case O_CA:
		return &o->ca;
	case O_CERT:
		return &o->cert;
	case O_KEY:
		return &o->key;
	case O_P12_OUT:
		return &o->p12_out;
	case O_ACKED_FILE:
		return &o->acked_file;
	default:
		return NULL;
	}
}

/* The flag an option without a value sets; NULL for another option. */
static bool *flag_slot(struct opts *o, int c)
{
	switch (c) {
	case O_AUTH_BAD_SIG:
		return &o->auth_bad_sig;
	case O_AUTH_TWICE:
		return &o->auth_twice;
	case O_ANSWERS_TWICE:
		return &o->answers_twice;
	case O_NO_REGISTER:
		return &o->no_register;
	case O_NO_AUTH:
		return &o->no_auth;
	case O_LOOP:
		return &o->loop;
	case 'v':
		return &o->verbose;
	default:
		return NULL;
	}
}

/* One option; false on a bad value or an unknown option. */
static bool apply_opt(struct opts *o, int c, const char *arg, const char **phone)
{
	const char **text = text_slot(o, c);
	bool *flag = flag_slot(o, c);
	if (text || flag) {
		if (text)
			*text = arg;
		else
			*flag = true;
		return true;
	}
	switch (c) {
	case O_PLAIN:
	case O_TLS:
		o->plain = c == O_PLAIN;
		return true;
	case O_LAYOUT:
		return parse_layout(o, arg);
	case O_IMEI:
		return parse_imei(o, arg);
	case O_PHONE:
		*phone = arg;
		return true;
	case O_V2019:
		o->layout = JT808_L2019;
		return true;
	case O_AUTH_CODE:
		o->auth_code = arg;
		return strlen(arg) < 63;
	case O_INJECT:
		return parse_inject(o, arg);
	default:
		return apply_num_opt(o, c, arg);
	}
}

/*
 * The file of the signing key: --sign-key; else --key, except where the
 * timing registration answer brings the terminal's key.
 */
const char *termsim_sign_key_path(const struct opts *o)
{
	if (o->l.sign_key)
		return o->l.sign_key;
	return o->layout == JT808_LTIMING && !o->no_register ? NULL : o->key;
}

static bool check_terminals(const struct opts *o)
{
	char last[JT808_PHONE_MAX + 1];

	if (!termsim_number_plus(o->phone_raw, (unsigned)o->terminals - 1, last, sizeof(last))) {
		log_error("--terminals %d: --phone %s plus %d needs more digits", o->terminals,
			  o->phone_raw, o->terminals - 1);
		return false;
	}
	if (o->terminals > 1 && o->cert && (!strstr(o->cert, "{}") || !strstr(o->key, "{}")))
		log_warn("--terminals %d with one certificate for all: the server may refuse "
			 "all but one",
			 o->terminals);
	return true;
}

/* Options of one layout given with another, or needing what is left out. */
static bool check_layout_opts(const struct opts *o)
{
	bool timing = o->layout == JT808_LTIMING;

	if (timing && o->auth_code) {
		log_error("--auth-code is for --layout 2013|2019: the timing layout signs instead");
		return false;
	}
	if (!timing && (o->imei || o->p12_out || o->auth_ts_offset || o->auth_bad_sig)) {
		log_error("--imei, --p12-out, --auth-ts-offset and --auth-bad-sig are for the "
			  "timing layout");
		return false;
	}
	if ((o->imei || o->p12_out) && o->no_register) {
		log_error("--imei and --p12-out go with the registration (no --no-register)");
		return false;
	}
	if (o->no_auth && (o->auth_ts_offset || o->auth_bad_sig || o->auth_twice)) {
		log_error("--auth-* options need the authentication (no --no-auth)");
		return false;
	}
	if (!o->no_register || o->no_auth)
		return true;
	if (timing && !termsim_sign_key_path(o)) {
		log_error("--no-register in the timing layout needs --sign-key F (the key of the "
			  "terminal's registered certificate) or --no-auth");
		return false;
	}
	if (!timing && !o->auth_code) {
		log_error("--no-register needs --auth-code CODE or --no-auth");
		return false;
	}
	return true;
}

/* Checks across options, after all are read. */
static bool check_opts(struct opts *o, const char *phone)
{
	if (!phone || !parse_phone(o, phone)) {
		log_error("--phone: 1 to %zu digits required", jt808_phone_digits(o->layout));
		return false;
	}
	if (!o->plain && !o->ca) {
		log_error("--ca is required with --tls");
		return false;
	}
	if (!o->cert != !o->key) {
		log_error("--cert and --key go together");
		return false;
	}
	if (o->plain && o->cert)
		log_warn("--cert without --tls: plain TCP, the certificate is not sent");
	if (!check_layout_opts(o))
		return false;
	if (o->loop && o->rate <= 0)
		o->rate = 1;
	if (!o->start_time_set)
		o->start_time = (long long)time(NULL) - (o->loop ? 0 : o->positions);
	return check_terminals(o) && termsim_lesson_check(o);
}

/* 0 when the options are usable; EXIT_USAGE or -1 (--help) otherwise. */
int termsim_parse_opts(struct opts *o, int argc, char **argv)
{
	const char *phone = NULL;
	int c, idx = -1;

	*o = (struct opts){.host = "127.0.0.1",
			   .port = "8808",
			   .plain = true,
			   .layout = JT808_LTIMING,
			   .window = 16,
			   .timeout_s = 30,
			   .terminals = 1};
	termsim_lesson_defaults(&o->l);
	while ((c = getopt_long(argc, argv, "vh", long_opts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (!apply_opt(o, c, optarg, &phone)) {
			if (c != '?')
				log_error("bad value for option --%s: %s",
					  idx >= 0 ? long_opts[idx].name : "?",
					  optarg ? optarg : "");
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument %s", argv[optind]);
		return EXIT_USAGE;
	}
	return check_opts(o, phone) ? 0 : EXIT_USAGE;
}
