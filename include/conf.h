/*
 * conf.h - the YAML configuration: one table of keys, loaded and
 * validated completely before anything uses it.
 *
 * Keys are dotted paths of the YAML mappings ("database.batch_max_rows").
 * Every key has a type, bounds, a default and a reloadable flag in the
 * table in conf.c; errors are "file:line: message".
 */
#ifndef HOURSD_CONF_H
#define HOURSD_CONF_H

#include "hoursd.h"

/* How many keys a configuration can have (key_set, key_line). */
#define CONF_MAX_KEYS 128

struct hconf {
	/* listen */
	char *listen_tls;     /* "host:port" */
	char *listen_plain;   /* "host:port", or NULL when off (the default) */
	char *proxy_protocol; /* listeners reading a PROXY header first ("plain,tls"), or NULL */
	/* tls */
	char *tls_cert;
	char *tls_key;
	char *tls_ca;
	char *tls_crl; /* CRLs of the issuing CAs (PEM), or NULL: nothing revoked */
	/* database */
	char *db_conninfo;
	unsigned db_connections; /* ingest's: a batch in flight on each */
	unsigned batch_max_rows;
	unsigned batch_max_ms;
	unsigned store_high_water; /* rows waiting for a commit, all connections */
	unsigned db_reconnect_min_ms;
	unsigned db_reconnect_max_ms;
	unsigned judge_batch_max_rows;	/* records per judge batch */
	unsigned judge_interval_ms;	/* the judge looks at its queue at least this often */
	unsigned judge_gap_ms;		/* least time between the starts of two batches */
	unsigned judge_busy_batch_rows; /* per batch while ingest commits; 0: batch_max_rows */
	/* audit: the hash chain and its signed checkpoints (docs/audit.md) */
	unsigned audit_chain_interval_ms;     /* the chain stage links what is queued this often */
	char *audit_checkpoint_key;	      /* PEM private key signing checkpoints; NULL: none */
	unsigned audit_checkpoint_interval_s; /* a checkpoint of the head this often */
	char *audit_checkpoint_file;	      /* each checkpoint appended here too; NULL: none */
	/* connection */
	unsigned idle_timeout_s;
	unsigned max_frame_bytes; /* escaped bytes between the flags */
	unsigned conn_high_water; /* frames of one connection waiting for a commit */
	unsigned frames_per_read; /* frames handled per read event */
	unsigned reasm_max_pieces;
	unsigned reasm_max_bytes;
	unsigned reasm_max_age_s;
	unsigned auth_window_s;		/* a timing authentication's timestamp vs our clock */
	unsigned auth_failures_per_min; /* from one address, before it is refused outright */
	unsigned max_connections;	/* terminal connections in all; 0: no cap */
	unsigned max_per_address;	/* from one source address; 0: no cap */
	unsigned max_per_terminal;	/* authenticated connections of one terminal; 0: no cap */
	unsigned handshake_timeout_s;	/* TLS: accept -> handshake done */
	unsigned auth_timeout_s;	/* connected -> authenticated */
	unsigned fd_reserve;		/* descriptors never given to terminals */
	unsigned reasm_budget_bytes;	/* all connections' unfinished sub-packaged messages */
	unsigned warnings_per_min;	/* warning lines per connection and minute */
	unsigned lines_per_min;		/* log lines of any level per connection and minute */
	unsigned bad_frames_per_min;	/* bad or unsupported frames before close + throttle */
	unsigned throttle_s;		/* how long a terminal or address closed so is refused */
	unsigned preauth_answers;	/* frames answered before authentication, at most */
	unsigned out_max_bytes;		/* one connection's unsent answers: reading stops */
	unsigned out_budget_bytes;	/* all connections' unsent answers */
	unsigned sndbuf_bytes;		/* SO_SNDBUF of a terminal socket; 0: the kernel's */
	unsigned write_timeout_s;	/* answers pending without progress: closed */
	/* registration */
	char *platform_no; /* BYTE[5] of the timing registration answer */
	/* log */
	char *log_level;
	/* process */
	bool allow_root;
	unsigned drain_timeout_s; /* SIGTERM: longest wait for commits and answers */
	/* rules */
	char *syllabus_path;	   /* conf/syllabus.yaml */
	unsigned max_record_age_s; /* a record older than this when it arrives is rejected */
	unsigned max_future_s;	   /* a record further ahead of the server's clock is rejected */
	unsigned max_jump_kmh;	   /* between two records of a terminal */
	unsigned max_speed_difference_kmh; /* satellite against recorder speed; 0: not compared */
	char *unsigned_policy; /* "reject": unsigned timing messages refused; "flag": taken, marked
				*/
	char *schedule_policy; /* "flag": a student login outside the schedule taken, marked;
				  "refuse": refused (outside_schedule) */
			       /*
				* The registry's checks at a login (docs/registry.md), in the order of
				* enum reason from R_COACH_NOT_REGISTERED: "refuse" (the default) or
				* "flag" (taken, the check's name in session_event.flags).
				*/
#define CONF_REGISTRY_CHECKS 8
	char *registry_policy[CONF_REGISTRY_CHECKS];
	char *legacy_cutoff; /* YYYY-MM-DD: legacy students pre-entered before it back-fill */
	/* readiness: the pre-entry question over mutual TLS (docs/push-contract.md) */
	char *listen_readiness; /* "host:port", or NULL when off */
	char *readiness_ca;	/* the CA of the clients that may ask */
	/* push: the police platform; push_url NULL = no pushing */
	char *push_url;
	char *push_ca, *push_cert, *push_key; /* TLS: the platform's CA, our client certificate */
	char *push_sign_key;		      /* our signing key for the bodies (RSA-2048 or SM2) */
	char *push_sign_cert;		      /* its certificate: X-Hoursd-Key-Id is its SHA-256 */
	char *push_field_map;		      /* field names of the province's interface, JSON */
	unsigned push_concurrency, push_timeout_s, push_retry_min_s, push_retry_max_s;
	unsigned push_max_age_s, push_lease_s;
	char *push_profile; /* "hoursd" (docs/push-contract.md) or "national" (its last section) */
	unsigned push_national_rectype, push_national_rectype_backfilled, push_national_examresult;
	bool push_national_review;	   /* fetch the stage-hours review after acceptance */
	unsigned push_national_failed_max; /* answers of errorcode 1 before a packet fails */
	unsigned push_national_review_min_s, push_national_review_max_s; /* review back-off */
	char *push_national_esignature; /* what the school's seal signs: body, pdf or none */
	/* session */
	unsigned session_timeout_s; /* a student login with no record for this long is over */
	/* admin */
	char *admin_listen; /* "host:port" of the HTTP admin listener, or NULL when off */
	unsigned admin_header_timeout_s, admin_body_timeout_s;
	/* findings: the thresholds of hoursctl findings (docs/audit.md, "Findings") */
	unsigned findings_missing_minutes;  /* a lesson this many minutes short */
	unsigned findings_clock_skew_s;	    /* GNSS time this far from the record's */
	unsigned findings_off_site_minutes; /* per school and coach in the period */
	unsigned findings_max_students_per_coach_day;
	unsigned findings_max_coach_minutes_per_day;
	unsigned findings_min_face_confidence;	/* 0: not looked at */
	unsigned findings_silent_days;		/* an active terminal not heard of */
	unsigned findings_min_realtime_percent; /* of a school's records; 0: not looked at */
	unsigned findings_max_travel_kmh; /* between a coach's or a vehicle's consecutive minutes */

	bool key_set[CONF_MAX_KEYS]; /* key i was written in the file */
	char *path;		     /* the file it was loaded from; NULL when not loaded */
	unsigned long key_line[CONF_MAX_KEYS]; /* line of key i in the file; 0: not written */
};

/* Load and validate; on error writes "file:line: message" into err and returns NULL. */
struct hconf *conf_load(const char *path, char *err, size_t errlen) MUSTCHECK;
void conf_free(struct hconf *c);
/*
 * Reload: give next the current values of every key that only a restart
 * may change (logging each one that differed); returns how many differed.
 */
unsigned conf_keep_restart_keys(struct hconf *next, struct hconf *cur);

/*
 * Every unsigned key at its default, the rest untouched: the thresholds
 * of a tool run without a configuration file (hoursctl -d).
 */
void conf_uint_defaults(struct hconf *c);

/* Key table access, for `hoursd --config-keys` and the tests. */
size_t conf_key_count(void);
const char *conf_key_name(size_t i);
/* A calendar date YYYY-MM-DD that exists, years 1990 to 2200 (rules.legacy_cutoff, the
 * readiness question's day, the dates of hoursctl's imports). */
bool conf_valid_date(const char *s);
bool conf_key_reloadable(size_t i);
/* After conf_load: whether key i was written in the file (not defaulted). */
bool conf_key_was_set(const struct hconf *c, size_t i);
/*
 * "FILE:LINE: " of a key as c was loaded (the line of the top level when
 * the key was not written), to begin a message about its value found
 * wrong later, e.g. a file it names that cannot be opened; "" when c was
 * not loaded from a file.  Returns buf.
 */
const char *conf_key_where(const struct hconf *c, const char *key, char *buf, size_t len);

#endif
