/*
 * termsim.h - what the parts of termsim share, from the top down (each
 * calls only the ones below it):
 *
 *   termsim.c     main: the set-up of every terminal, the connections and
 *                 their events, the end
 *   opts.c        the options, their checks and the usage
 *   summary.c     the key=value summary and the exit status
 *   answers.c     frames in: read, dispatched, accounted
 *   traffic.c     what a terminal sends: registration, authentication,
 *                 heartbeats, positions, injections; the pump
 *   timing.c      what the national timing layout adds: the registration
 *                 answer with its PKCS#12, downlink pieces and the requests
 *                 for missing ones, the signed authentication, the
 *                 platform's commands
 *   lesson_run.c  the lesson sent, its answers, its verdicts and summary
 *   lesson.c      the lesson built and signed (lesson.h: the script)
 *   lesson_opts.c the lesson's options and usage
 *   sim.c         the basics: the clock, log names, numbers, frames out
 *                 (serials, slots, pieces), pacing, a terminal's state
 *
 * Nothing else includes it.  The parts are linked into termsim only, not
 * into libhoursd.a; their public names carry the termsim_ prefix all the
 * same.
 */
#ifndef HOURSD_TERMSIM_H
#define HOURSD_TERMSIM_H

#include "hoursd.h"
#include "jt808.h"
#include "jtx.h"

#include <event2/util.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define SIM_MAX_FRAME 4096 /* escaped bytes between flags we accept */
#define SIM_PIECE 1000	   /* body bytes per sub-package piece */
#define SIM_PHOTO_MAX (16L * 1024 * 1024)
#define SIM_FRAME_CAP JT808_ENCODED_MAX(JT808_MAX_BODY)
#define SIM_LAT_MAX (1u << 22) /* latency samples kept */

enum sim_exit { EXIT_DONE = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

struct event;
struct event_base;
struct bufferevent;
struct termsim_lesson;
struct termsim_dl;

enum inject_kind { INJ_NONE, INJ_GARBAGE, INJ_BADCHECK, INJ_OVERSIZE, INJ_SUBPKG, INJ_UNKNOWN };

/* The options of the lesson mode (--lesson and what goes with it). */
struct lesson_opts {
	long minutes; /* --lesson N; -1: no lesson */
	const char *sign_key;
	const char *terminal_no, *coach_no, *student_no; /* NULL: defaults */
	uint32_t class_id;
	struct jtx_course course;
	long long record_start;
	bool record_start_set;
	long record_seq;
	long tamper, resend, reuse; /* record index from 1; 0: none */
	bool no_session;	    /* no logins or logouts: records are expected refused */
	bool no_login;		    /* no logins: the lesson is open on the server already */
	bool resume;	    /* --resume: the route and odometer go on from record --record-seq */
	bool no_logout;	    /* no logouts: the lesson is left open */
	bool reupload;	    /* records uploaded again on command: upload type 2, bit 0 */
	bool unsigned_msgs; /* --unsigned: extension properties 0x0002, no check string */
	long photo_bytes;   /* -1: no photo */
	const char *photo_file; /* --photo-file: the photo's bytes (else made up) */
	bool photo_reverse;
	long photo_drop; /* piece index from 1; 0: none */
	const char *records_file;
	const char *photo_no; /* --photo-no: 9 digits; NULL: from the clock */
	/* --only, --again: sets of messages, bit (1 << role) of lesson.h's enum role */
	unsigned only;	/* 0: all */
	unsigned again; /* sent again, the same bytes, after the lesson */
};

struct opts {
	const char *host;
	const char *port;
	const char *ca, *cert, *key;
	bool plain;
	char phone_raw[JT808_PHONE_MAX + 1]; /* as given: terminal 0 */
	uint8_t layout;			     /* enum jt808_layout */
	long positions;
	long heartbeats;
	int batch;
	double rate;
	int window;
	int timeout_s;
	bool no_register, no_auth;
	const char *auth_code;
	/* the timing layout (timing.c) */
	const char *imei;    /* 15 digits; NULL: "86" + the phone's last 13 */
	long drop_piece;     /* ignore the first arrival of downlink piece N (from 1); 0: none */
	const char *p12_out; /* write the PKCS#12 of the registration answer here */
	long auth_ts_offset; /* seconds added to the authentication's timestamp */
	bool auth_bad_sig;   /* spoil the authentication's signature */
	bool auth_twice;     /* the same authentication frame twice: a replay */
	bool answers_twice;  /* each answer to a command sent twice, the same bytes */
	long long start_time;
	bool start_time_set;
	const char *acked_file;
	bool loop;
	enum inject_kind inject;
	bool verbose;
	int terminals;
	struct lesson_opts l;
};

/* A connection's state machine; see termsim_set_state() in sim.c. */
enum sim_state {
	ST_CONNECTING,
	ST_REGISTERING,
	ST_AUTHENTICATING,
	ST_SENDING,
	ST_DRAINING,
	ST_DONE
};

/*
 * What a sent frame was, so that its answer can be accounted.  K_LESSON:
 * a timing message, first_pos is its index in the lesson.  K_PIECE: a
 * piece of a sub-packaged timing message other than the one its answer
 * is expected under; first_pos is the serial of that one.
 */
enum slot_kind {
	K_FREE,
	K_REG,
	K_AUTH,
	K_HB,
	K_POS,
	K_UNKNOWN,
	K_BADCHECK,
	K_SUBPKG,
	K_LESSON,
	K_PIECE,
	K_ASK /* a request for missing downlink pieces: no answer awaited */
};

struct slot {
	uint64_t sent_us;
	uint64_t first_pos;
	uint16_t npos;
	uint16_t msg_id;
	uint8_t kind;
	bool tracked; /* counts in the window and as unanswered */
};

struct run;

/* One simulated terminal: one connection. */
struct sim {
	struct run *run;
	const struct opts *o;
	unsigned index;			 /* from 0 */
	char phone[JT808_PHONE_MAX + 1]; /* padded to 12 or 20 digits */
	char phone_raw[JT808_PHONE_MAX + 1];
	char *cert, *key, *sign_key; /* the options with "{}" replaced by phone_raw */
	char *p12_out;
	char terminal_no[JTX_TERMINAL_NO_LEN + 1]; /* the timing terminal number */
	char imei[16];
	EVP_PKEY *pkey;	       /* signs authentication and lesson; NULL until known */
	struct termsim_dl *dl; /* downlink pieces; NULL until the first */
	bool in_training;      /* a student is logged in: the timing header's reserved byte is 1 */
	SSL_CTX *ctx;
	SSL *ssl; /* owned by bev once the bufferevent exists */
	struct bufferevent *bev;
	evutil_socket_t fd; /* until the bufferevent owns it */
	struct event *conn_ev, *idle_ev, *pace_ev;
	enum sim_state st;
	uint16_t serial;
	struct slot *slots; /* indexed by serial */
	unsigned inflight;
	uint16_t reg_serial;
	long hb_sent;
	uint64_t pos_next;
	bool inject_done;
	uint64_t pace_t0_us, paced;
	/* results */
	int reg_result, auth_result, unknown_result;
	int auth_replay_result; /* --auth-twice: the answer to the second copy; -1 none */
	bool cert_failed;	/* the registration answer's certificate is unusable */
	bool layout_warned;	/* an answer in another layout was logged */
	char auth_code[64];
	uint64_t hb_acked, pos_sent, pos_acked, pos_failed, acks, injected, badcheck_acked;
	uint64_t commands; /* the platform's commands answered (0x8205, 0x8301, 0x8502) */
	uint64_t t_end_us;
	bool closed, connect_failed, tls_failed, timed_out;
	struct termsim_lesson *lesson; /* NULL without --lesson */
};

/* Everything the terminals of one run share. */
struct run {
	struct opts o;
	struct event_base *base;
	struct event *sigint_ev, *sigterm_ev;
	FILE *acked, *records;
	struct sim *sims;
	unsigned nsims, active;
	uint32_t *lat_us;
	size_t nlat;
	uint32_t *rec_lat_us; /* the timing messages answered by 0x8001: the records */
	size_t nrec_lat;
	uint64_t t_start_us, t_end_us;
	uint64_t rec_t0_us, rec_t1_us; /* the timed part: first record sent, last answered */
	bool interrupted;
	uint8_t rx[SIM_MAX_FRAME];
};

/* ---- sim.c ---- */

uint64_t termsim_now_us(void);
/* Who the log lines of s are about ("" with one terminal). */
const char *termsim_who(const struct sim *s);
const char *termsim_state_name(enum sim_state st);
void termsim_set_state(struct sim *s, enum sim_state st);
/*
 * This terminal is done; the loop stops when the last one is.  The
 * caller's callback chain returns before anything is freed.
 */
void termsim_finish(struct sim *s);
/* Any progress (a frame out or in) pushes the no-progress deadline back. */
void termsim_touch(struct sim *s);
/* A frame's bytes in the debug log. */
void termsim_log_frame(const char *dir, const uint8_t *buf, size_t n);
/* Queue bytes on the connection. */
void termsim_write(struct sim *s, const uint8_t *buf, size_t n);
/* A header of the terminal's layout under the next serial. */
struct jt808_header termsim_header(struct sim *s, uint16_t msg_id);
/* The slot of h's serial: what was sent, when, whether its answer is awaited (tracked). */
void termsim_slot_fill(struct sim *s, const struct jt808_header *h, enum slot_kind kind,
		       bool tracked, uint64_t first_pos, uint16_t npos);
/* Encode and queue one frame; its serial (0 when it could not be encoded). */
uint16_t termsim_send_msg(struct sim *s, struct jt808_header *h, const uint8_t *body, size_t len,
			  enum slot_kind kind, uint64_t first_pos, uint16_t npos);
/* The same under the next serial. */
uint16_t termsim_send_simple(struct sim *s, uint16_t msg_id, const uint8_t *body, size_t len,
			     enum slot_kind kind);
/* Encode and queue a message no answer is awaited for; its serial (0: not sent). */
uint16_t termsim_send_untracked(struct sim *s, uint16_t msg_id, const uint8_t *body, size_t len);
/*
 * Send a 0x0900 body, in pieces of SIM_PIECE bytes with consecutive
 * serials when it exceeds JT808_MAX_BODY; reverse sends the pieces last
 * to first, drop (from 1; 0 none) leaves one out.  The answer is expected
 * under the serial of the last piece sent, which is returned (0: not sent).
 */
uint16_t termsim_send_transparent(struct sim *s, const uint8_t *body, size_t len, size_t ref,
				  bool tracked, bool reverse, unsigned drop);
/* Pieces a 0x0900 body of len bytes is sent in (1: not sub-packaged). */
unsigned termsim_pieces(size_t len);
/* Whether --rate lets one more paced frame go now (else the pace timer is armed). */
bool termsim_pace_allows(struct sim *s);
/* The answer of sl came: its latency among the run's samples. */
void termsim_record_latency(struct sim *s, const struct slot *sl);
/* The frame under serial got its answer (a 0x8900): free its slot, count the latency. */
void termsim_slot_answered(struct sim *s, uint16_t serial);
/* A decimal option in [min, max]. */
bool termsim_parse_long(const char *s, long min, long max, long *out) MUSTCHECK;
/* A person or terminal number for terminal i: the trailing digits of base plus i. */
bool termsim_number_plus(const char *base, unsigned i, char *out, size_t cap) MUSTCHECK;

/* ---- traffic.c ---- */

/* The names of --inject, by enum inject_kind. */
extern const char *const termsim_inject_names[INJ_UNKNOWN + 1];
/* Position i's time (the route's and the --acked-file's). */
time_t termsim_position_time(const struct sim *s, uint64_t i);
/* Send the registration (0x0100). */
void termsim_register(struct sim *s);
/* Authenticate (or, with --no-auth, start sending at once). */
void termsim_start_auth(struct sim *s);
void termsim_start_sending(struct sim *s);
/* Send whatever the window and the rate allow now. */
void termsim_pump(struct sim *s);
/* Draining and nothing unanswered: done. */
void termsim_check_drained(struct sim *s);

/* ---- answers.c ---- */

/* The bufferevent's read callback: every complete frame taken out and dispatched. */
void termsim_on_read(struct bufferevent *bev, void *arg);

/* ---- summary.c ---- */

/* The key=value summary, totals over all terminals, on stdout. */
void termsim_summary(struct run *r);
/* A failure anywhere is 1; else a timeout anywhere is 3. */
int termsim_exit_code(const struct run *r);

/* ---- opts.c ---- */

/* 0 when the options are usable; EXIT_USAGE or -1 (--help) otherwise. */
int termsim_parse_opts(struct opts *o, int argc, char **argv);
/*
 * The file of the signing key: --sign-key; else --key, except where the
 * timing registration answer brings the terminal's key.
 */
const char *termsim_sign_key_path(const struct opts *o);

/* ---- timing.c ---- */

/*
 * A downlink piece (m->h.subpkg): false while its message is incomplete
 * (a timer asks for missing pieces); true with the whole body (malloc'd,
 * the caller frees) and *pieces when this piece completed it.
 */
bool termsim_dl_piece(struct sim *s, const struct jt808_msg *m, uint8_t **body, size_t *len,
		      unsigned *pieces) MUSTCHECK;
void termsim_dl_free(struct sim *s);
/*
 * The accepted 0x8100 of the timing layout: take the terminal number
 * (unless --terminal-no), decode the PKCS#12 with the password and keep
 * its key for signing (unless --sign-key), write it to --p12-out.
 */
bool termsim_take_certificate(struct sim *s, const struct jt808_register_ack_timing *a) MUSTCHECK;
/* A 0x8900 that is one of the platform's commands, answered; false for anything else. */
bool termsim_on_command(struct sim *s, const struct jt808_msg *m);
/* The 0x0102 body of the timing layout, signed now; 0 on error (logged). */
size_t termsim_auth_timing(struct sim *s, uint8_t *out, size_t cap) MUSTCHECK;
/* The IMEI of terminal s: --imei, else "86" and the phone's last 13 digits. */
void termsim_default_imei(const char *phone, char out[16]);

/* ---- lesson.c ---- */

/* Build and sign the whole lesson of s now, before anything is timed. */
bool termsim_lesson_prepare(struct sim *s, EVP_PKEY *key) MUSTCHECK;
void termsim_lesson_free(struct sim *s);
/* The lesson waits for the registration answer when it brings the key or the number. */
bool termsim_lesson_deferred(const struct opts *o);

/* ---- lesson_run.c ---- */

/*
 * Send the lesson's next message if its turn has come (the window is
 * the caller's; the rate and the waits for answers are the lesson's).
 */
enum termsim_step { STEP_SENT, STEP_WAIT, STEP_DONE };
enum termsim_step termsim_lesson_step(struct sim *s);
/* A 0x8001 for a timing message (slot kind K_LESSON, its first_pos). */
void termsim_lesson_on_ack(struct sim *s, size_t ref, uint16_t serial, uint8_t result);
/* A 0x8900 from the server. */
void termsim_lesson_on_down(struct sim *s, const struct jt808_msg *m);
/* Some answer is not the one expected (see the usage text): the run failed. */
bool termsim_lesson_failed(const struct sim *s);
/* Everything sent, and answered but a photo with a piece left out. */
bool termsim_lesson_complete(const struct sim *s);
/* The summary lines of the lesson, totals over all terminals. */
void termsim_lesson_summary(const struct run *r);

/* ---- lesson_opts.c ---- */

/* Lesson options (the O_* values below); false on a bad value. */
enum {
	O_LESSON = 512,
	O_SIGN_KEY,
	O_TERMINAL_NO,
	O_COACH,
	O_STUDENT,
	O_CLASS_ID,
	O_COURSE,
	O_RECORD_START,
	O_RECORD_SEQ,
	O_TAMPER,
	O_RESEND,
	O_REUSE,
	O_NO_SESSION,
	O_PHOTO,
	O_PHOTO_ORDER,
	O_PHOTO_DROP,
	O_PHOTO_FILE,
	O_RECORDS_FILE,
	O_NO_LOGIN,
	O_RESUME,
	O_NO_LOGOUT,
	O_UNSIGNED,
	O_REUPLOAD,
	O_ONLY,
	O_AGAIN,
	O_PHOTO_NO,
};
bool termsim_lesson_opt(struct lesson_opts *l, int c, const char *arg) MUSTCHECK;
void termsim_lesson_defaults(struct lesson_opts *l);
/* Checks across options once all are read; false (logged) when unusable. */
bool termsim_lesson_check(struct opts *o) MUSTCHECK;
/* The usage lines of the lesson options. */
extern const char termsim_lesson_usage[];

#endif
