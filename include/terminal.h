/*
 * terminal.h - a registered terminal as the registry has it: the snapshot
 * of its row and of the lesson its last accepted logins left open
 * (sql/queries/daemon/terminal_lookup.sql), looked up by ingest.c, kept by
 * conn.c for the connection's life, the start of lesson.c's lesson.
 */
#ifndef HOURSD_TERMINAL_H
#define HOURSD_TERMINAL_H

#include "hoursd.h"
#include "jtx.h"

/* A registered terminal, as the registry has it, with its open lesson. */
struct terminal {
	int64_t id;
	bool active;
	char auth_code[65];
	char terminal_no[JTX_TERMINAL_NO_LEN + 1]; /* "" when not registered */
	int64_t school_id;			   /* 0 when not assigned */
	char vehicle_class[4];			   /* of its vehicle, "" when unknown */
	uint8_t cert_sha256[32];
	int64_t cert_not_after;	   /* seconds since the epoch */
	const char *sign_cert_pem; /* valid during the look-up's callback only */
	uint8_t sign_cert_sha256[32];
	/*
	 * The signing certificate in force before the current one (terminal_cert),
	 * for what was signed before sign_cert_since (0: the current one always).
	 */
	int64_t sign_cert_since;
	bool has_prev_sign_cert;
	const char *prev_sign_cert_pem; /* valid during the look-up's callback only */
	uint8_t prev_sign_cert_sha256[32];
	/* The lesson open at the last accepted logins, if any (0 = none). */
	char coach_no[JTX_PERSON_NO_LEN + 1];
	int64_t coach_login;
	char student_no[JTX_PERSON_NO_LEN + 1];
	char student_coach_no[JTX_PERSON_NO_LEN + 1];
	int64_t student_class_id;
	int64_t student_login;
	int64_t last_record; /* time of the last accepted record of that student login */
	/* Timing terminals: what registration must match ("" = anything), device quirks. */
	char imei[16];
	char factory_serial[8];
	bool escaped_sums; /* length and check code over the escaped bytes */
	bool rsa_raw;	   /* unpadded RSA signatures accepted */
};

#endif
