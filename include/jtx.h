/*
 * jtx.h - the timing-training extension carried in JT/T 808 0x0900
 * (terminal -> platform) and 0x8900 (platform -> terminal).
 *
 * Content of a 0x0900 body: transparent type 0x13, then the extension
 * header (message ID, properties, serial, 16-character timing terminal
 * number, data length), the data, and the terminal's signature over the
 * bytes named in docs/protocol.md.  Layouts are tables in jtx.c, so a
 * province's variant is a change of a table.  Pure functions, no I/O.
 */
#ifndef HOURSD_JTX_H
#define HOURSD_JTX_H

#include "hoursd.h"
#include "jt808.h"

#define JTX_TRANSPARENT_TYPE 0x13
#define JTX_TERMINAL_NO_LEN 16
#define JTX_PERSON_NO_LEN 16 /* coach and student numbers */
#define JTX_RECORD_NO_LEN 26
#define JTX_PHOTO_NO_LEN 10
#define JTX_COURSE_DIGITS 10
#define JTX_MAX_SIG 512

/* Extended message IDs. */
enum {
	JTX_COACH_LOGIN = 0x0101,
	JTX_COACH_LOGOUT = 0x0102,
	JTX_STUDENT_LOGIN = 0x0201,
	JTX_STUDENT_LOGOUT = 0x0202,
	JTX_RECORD = 0x0203,
	JTX_PHOTO_INIT = 0x0305,
	JTX_PHOTO_DATA = 0x0306,
	JTX_COACH_LOGIN_ACK = 0x8101,
	JTX_COACH_LOGOUT_ACK = 0x8102,
	JTX_STUDENT_LOGIN_ACK = 0x8201,
	JTX_STUDENT_LOGOUT_ACK = 0x8202,
	JTX_PHOTO_INIT_ACK = 0x8305,
	/* The platform's commands, and the terminal's answers to them. */
	JTX_FETCH_RECORDS = 0x8205,
	JTX_FETCH_RECORDS_ACK = 0x0205,
	JTX_TAKE_PHOTO = 0x8301,
	JTX_TAKE_PHOTO_ACK = 0x0301,
	JTX_TRAINING_BAN = 0x8502,
	JTX_TRAINING_BAN_ACK = 0x0502,
};

/* Extended properties bits (see docs/protocol.md). */
#define JTX_PROP_REUPLOAD 0x0001 /* uploaded late (补传), e.g. on the platform's 0x8205 */
#define JTX_PROP_ANSWER 0x0002	 /* an answer is wanted */
/* Algorithm nibble (bits 4-7) = 2, SHA-256: a check string follows the data. */
#define JTX_PROP_SIGNED 0x0020

/* Results of the login/logout answers. */
enum { JTX_R_OK = 1, JTX_R_INVALID_PERSON = 2, JTX_R_CLASS_NOT_ALLOWED = 3, JTX_R_OTHER = 9 };
/* Results of the photo-init answer 0x8305: the terminal uploads only on 0. */
enum { JTX_PHOTO_ACCEPTED = 0, JTX_PHOTO_REFUSED = 1 };

enum jtx_err {
	JTX_OK = 0,
	JTX_E_SHORT,  /* fewer bytes than a field needs */
	JTX_E_TYPE,   /* transparent type is not 0x13 */
	JTX_E_LENGTH, /* declared data length exceeds the body */
	JTX_E_TEXT,   /* a fixed text field holds bytes other than printable ASCII or NUL padding */
	JTX_E_BCD,
	JTX_E_TIME,
	JTX_E_GNSS,  /* the GNSS block does not parse */
	JTX_E_SPACE, /* encoder: output too small */
	JTX_E__COUNT
};
const char *jtx_strerror(enum jtx_err e);

struct jtx_header {
	uint16_t msg_id;
	uint16_t props;
	uint16_t serial;
	char terminal_no[JTX_TERMINAL_NO_LEN + 1];
	uint32_t data_len;
	const uint8_t *data; /* into the body */
	const uint8_t *sig;  /* what follows the data; sig_len may be 0 */
	size_t sig_len;
	const uint8_t *signed_bytes; /* what the signature covers */
	size_t signed_len;
};

/* Parse a 0x0900 body (from the type byte). */
enum jtx_err jtx_parse(const uint8_t *body, size_t n, struct jtx_header *h) MUSTCHECK;
/*
 * The same, for a frame of the escaped-sums device fault (docs/protocol.md):
 * its data length counts the data's bytes as they were on the wire, each
 * 0x7E and 0x7D twice.
 */
enum jtx_err jtx_parse_escaped_len(const uint8_t *body, size_t n, struct jtx_header *h) MUSTCHECK;

/*
 * Build a 0x0900 (or 0x8900) body: type byte, header from h (msg_id,
 * props, serial, terminal_no), data, then sig.  Returns the length or 0
 * when cap is too small.  jtx_signed_span() gives the offset and length,
 * inside the built body, of the bytes a signer must sign (so that a
 * terminal can build with sig_len 0, sign, then build again).
 */
size_t jtx_build(const struct jtx_header *h, const uint8_t *data, size_t data_len,
		 const uint8_t *sig, size_t sig_len, uint8_t *out, size_t cap) MUSTCHECK;
void jtx_signed_span(size_t data_len, size_t *offset, size_t *len);

/* The ten-digit course code, decoded (docs/protocol.md). */
struct jtx_course {
	char digits[JTX_COURSE_DIGITS + 1];
	uint8_t mode;	       /* training mode: 1 vehicle, 2 classroom, 3 simulator, 4 remote */
	uint8_t part;	       /* 1-4 */
	uint8_t subject;       /* project within the part */
	char vehicle_class[3]; /* "C1", "B2", ... */
};
enum jtx_err jtx_course_decode(const uint8_t bcd[5], struct jtx_course *c) MUSTCHECK;
bool jtx_course_encode(const struct jtx_course *c, uint8_t bcd[5]) MUSTCHECK;

struct jtx_coach_login {
	char coach_no[JTX_PERSON_NO_LEN + 1];
	char id_card[19];
	char teach_class[3];
	struct jt808_location gnss;
};
struct jtx_coach_logout {
	char coach_no[JTX_PERSON_NO_LEN + 1];
	struct jt808_location gnss;
};
struct jtx_student_login {
	char student_no[JTX_PERSON_NO_LEN + 1];
	char coach_no[JTX_PERSON_NO_LEN + 1];
	struct jtx_course course;
	uint32_t class_id;
	struct jt808_location gnss;
};
struct jtx_student_logout {
	char student_no[JTX_PERSON_NO_LEN + 1];
	time_t logout_time;
	uint16_t minutes;
	uint16_t mileage_dkm; /* 0.1 km */
	uint32_t class_id;
	struct jt808_location gnss;
};
struct jtx_record {
	char record_no[JTX_RECORD_NO_LEN + 1]; /* terminal number + YYMMDD + 4-digit sequence */
	uint8_t upload_type;
	char student_no[JTX_PERSON_NO_LEN + 1];
	char coach_no[JTX_PERSON_NO_LEN + 1];
	uint32_t class_id;
	time_t record_time; /* date from the record number, hhmmss from the record, UTC+8 -> UTC */
	struct jtx_course course;
	uint8_t status;
	uint16_t max_speed_dkmh;
	uint16_t mileage_dkm;
	struct jt808_location gnss;
};
struct jtx_photo_init {
	char photo_no[JTX_PHOTO_NO_LEN + 1];
	char person_no[JTX_PERSON_NO_LEN + 1];
	uint8_t upload_mode, channel, size_code, event;
	uint16_t total_packets;
	uint32_t photo_size;
	uint32_t class_id;
	struct jt808_location gnss;
	uint8_t face_confidence;
};
struct jtx_photo_data {
	char photo_no[JTX_PHOTO_NO_LEN + 1];
	const uint8_t *bytes; /* into the data */
	size_t len;
};

/* Parse the data of each message (h->data, h->data_len). */
enum jtx_err jtx_parse_coach_login(const uint8_t *d, size_t n, struct jtx_coach_login *m) MUSTCHECK;
enum jtx_err jtx_parse_coach_logout(const uint8_t *d, size_t n,
				    struct jtx_coach_logout *m) MUSTCHECK;
enum jtx_err jtx_parse_student_login(const uint8_t *d, size_t n,
				     struct jtx_student_login *m) MUSTCHECK;
enum jtx_err jtx_parse_student_logout(const uint8_t *d, size_t n,
				      struct jtx_student_logout *m) MUSTCHECK;
enum jtx_err jtx_parse_record(const uint8_t *d, size_t n, struct jtx_record *m) MUSTCHECK;
enum jtx_err jtx_parse_photo_init(const uint8_t *d, size_t n, struct jtx_photo_init *m) MUSTCHECK;
enum jtx_err jtx_parse_photo_data(const uint8_t *d, size_t n, struct jtx_photo_data *m) MUSTCHECK;

/* Build the data of each message (termsim, tests); 0 when cap is too small. */
size_t jtx_build_coach_login(const struct jtx_coach_login *m, uint8_t *out, size_t cap) MUSTCHECK;
size_t jtx_build_coach_logout(const struct jtx_coach_logout *m, uint8_t *out, size_t cap) MUSTCHECK;
size_t jtx_build_student_login(const struct jtx_student_login *m, uint8_t *out,
			       size_t cap) MUSTCHECK;
size_t jtx_build_student_logout(const struct jtx_student_logout *m, uint8_t *out,
				size_t cap) MUSTCHECK;
size_t jtx_build_record(const struct jtx_record *m, uint8_t *out, size_t cap) MUSTCHECK;
size_t jtx_build_photo_init(const struct jtx_photo_init *m, uint8_t *out, size_t cap) MUSTCHECK;
size_t jtx_build_photo_data(const char *photo_no, const uint8_t *bytes, size_t len, uint8_t *out,
			    size_t cap) MUSTCHECK;

/* The platform's answers (data of 0x8900 messages), and their parsers for termsim. */
struct jtx_answer {
	uint8_t result;
	char person_no[JTX_PERSON_NO_LEN + 1]; /* coach or student number; empty for 0x8305 */
	/* student login answer only */
	uint16_t total_minutes, part_minutes, total_mileage, part_mileage;
};
size_t jtx_build_answer(uint16_t answer_id, const struct jtx_answer *a, uint8_t *out,
			size_t cap) MUSTCHECK;
enum jtx_err jtx_parse_answer(uint16_t answer_id, const uint8_t *d, size_t n,
			      struct jtx_answer *a) MUSTCHECK;

/*
 * The platform's commands to a terminal (data of 0x8900) and the
 * terminal's answers (data of 0x0900), layouts in docs/protocol.md
 * ("Commands").  One struct for all three; each command uses its fields.
 */
enum { JTX_QUERY_BY_TIME = 1, JTX_QUERY_BY_COUNT = 2 };
enum { JTX_BAN_OFF = 1, JTX_BAN_ON = 2 }; /* 0x8502 state: 1 training allowed */
/* Results of the answers: 1 done; 0x0205 then 3 none, 4 records follow, 9 failed. */
enum { JTX_CMD_OK = 1, JTX_CMD_NO_RECORDS = 3, JTX_CMD_RECORDS_FOLLOW = 4 };
struct jtx_bytes {
	const uint8_t *p; /* parse: into the data */
	uint8_t len;
};
struct jtx_command {
	uint8_t result;				 /* answers only */
	uint8_t query_mode;			 /* 0x8205: JTX_QUERY_BY_* */
	time_t from, to;			 /* 0x8205: BCD[6] each, UTC+8 on the wire */
	uint16_t count;				 /* 0x8205: most records */
	uint8_t upload_mode, channel, size_code; /* 0x8301 */
	uint8_t ban_state;			 /* 0x8502 */
	struct jtx_bytes message;		 /* 0x8502: GBK text the terminal reads out */
};
/* The answer a command gets (0x8205 -> 0x0205 ...), 0 when id is not a command. */
uint16_t jtx_command_answer_id(uint16_t id);
/* The command an answer belongs to, 0 when id is not a command's answer. */
uint16_t jtx_command_of_answer(uint16_t answer_id);
size_t jtx_build_command(uint16_t id, const struct jtx_command *c, uint8_t *out,
			 size_t cap) MUSTCHECK;
enum jtx_err jtx_parse_command(uint16_t id, const uint8_t *d, size_t n,
			       struct jtx_command *c) MUSTCHECK;

#endif
