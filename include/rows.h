/*
 * rows.h - the rows ingest writes, each kind's schema written once.
 *
 * A batch goes to PostgreSQL column by column: each column of each kind
 * one parameter, an array in PostgreSQL's binary format (int8[], bool[],
 * text[], bytea[]), which the statement reads back as rows with
 * unnest().  Nothing is printed or parsed on the way: no JSON document,
 * no jsonb_to_recordset (docs/architecture.md, "Where the time goes").
 * Each kind's columns are listed once, below, as an X-macro: the C struct
 * a caller fills, the arrays (rows_add) and the statement's
 * "unnest($n::type[], ...) AS x(name, ...)" (rows_statement, put where
 * sql/queries/daemon/ingest.sql says @kind@) all come from that list, so
 * the two sides cannot disagree.  A new column is one X() line here and
 * its use in ingest.sql.
 *
 * Types: INT (bigint), NINT (bigint or null), BOOL, TEXT (text or null;
 * each byte a character, as Latin-1), BYTES (bytea).
 */
#ifndef HOURSD_ROWS_H
#define HOURSD_ROWS_H

#include "hoursd.h"

typedef int64_t ROW_C_INT;
typedef struct {
	int64_t v;
	bool set; /* false: null */
} ROW_C_NINT;
typedef bool ROW_C_BOOL;
typedef const char *ROW_C_TEXT; /* NULL: null */
typedef struct {
	const uint8_t *p;
	size_t n;
} ROW_C_BYTES;

/* A position report: table position. */
#define ROW_POSITION(X)                                                                            \
	X(terminal_id, INT)                                                                        \
	X(fix_time, INT)                                                                           \
	X(lat_e6, INT)                                                                             \
	X(lon_e6, INT)                                                                             \
	X(altitude_m, INT)                                                                         \
	X(speed_dkmh, INT)                                                                         \
	X(direction, INT)                                                                          \
	X(alarm, INT)                                                                              \
	X(status, INT)                                                                             \
	X(fix_valid, BOOL)

/* A login or logout: table session_event. */
#define ROW_EVENT(X)                                                                               \
	X(terminal_id, INT)                                                                        \
	X(kind, TEXT)                                                                              \
	X(event_time, INT)                                                                         \
	X(person_no, TEXT)                                                                         \
	X(coach_no, TEXT)                                                                          \
	X(class_id, NINT)                                                                          \
	X(course_code, TEXT)                                                                       \
	X(minutes, NINT)                                                                           \
	X(mileage_dkm, NINT)                                                                       \
	X(lat_e6, INT)                                                                             \
	X(lon_e6, INT)                                                                             \
	X(fix_valid, BOOL)                                                                         \
	X(reason, TEXT)                                                                            \
	X(came_unsigned, BOOL)                                                                     \
	X(outside_schedule, BOOL)                                                                  \
	X(flags, TEXT)                                                                             \
	X(ext_serial, INT)                                                                         \
	X(raw, BYTES)

/* A training record with ingest's verdict: table training_record. i: its place in the batch. */
#define ROW_RECORD(X)                                                                              \
	X(i, INT)                                                                                  \
	X(terminal_id, INT)                                                                        \
	X(record_no, TEXT)                                                                         \
	X(record_time, INT)                                                                        \
	X(student_no, TEXT)                                                                        \
	X(coach_no, TEXT)                                                                          \
	X(class_id, INT)                                                                           \
	X(course_code, TEXT)                                                                       \
	X(part, INT)                                                                               \
	X(mode, INT)                                                                               \
	X(vehicle_class, TEXT)                                                                     \
	X(upload_type, INT)                                                                        \
	X(record_status, INT)                                                                      \
	X(max_speed_dkmh, INT)                                                                     \
	X(mileage_dkm, INT)                                                                        \
	X(lat_e6, INT)                                                                             \
	X(lon_e6, INT)                                                                             \
	X(fix_valid, BOOL)                                                                         \
	X(gnss_time, NINT)                                                                         \
	X(session_login, NINT)                                                                     \
	X(reason, TEXT)                                                                            \
	X(came_unsigned, BOOL)                                                                     \
	X(gnss_speed_dkmh, INT)                                                                    \
	X(recorder_speed_dkmh, INT)                                                                \
	X(gnss_mileage_dkm, NINT)                                                                  \
	X(engine_rpm, NINT)                                                                        \
	X(altitude_m, NINT)                                                                        \
	X(fuel_dl, NINT)                                                                           \
	X(raw, BYTES)                                                                              \
	/* The evidence (migration 025): received_at, and the leaf computed from the row. */       \
	X(received_us, INT)                                                                        \
	X(leaf, BYTES)

/* A photo received whole: table photo. */
#define ROW_PHOTO(X)                                                                               \
	X(terminal_id, INT)                                                                        \
	X(photo_no, TEXT)                                                                          \
	X(person_no, TEXT)                                                                         \
	X(class_id, INT)                                                                           \
	X(upload_mode, INT)                                                                        \
	X(channel, INT)                                                                            \
	X(size_code, INT)                                                                          \
	X(event, INT)                                                                              \
	X(face_confidence, INT)                                                                    \
	X(lat_e6, INT)                                                                             \
	X(lon_e6, INT)                                                                             \
	X(taken_at, NINT)                                                                          \
	X(data, BYTES)

#define ROW_FIELD(name, type) ROW_C_##type name;
struct row_position {
	ROW_POSITION(ROW_FIELD)
};
struct row_event {
	ROW_EVENT(ROW_FIELD)
};
struct row_record {
	ROW_RECORD(ROW_FIELD)
};
struct row_photo {
	ROW_PHOTO(ROW_FIELD)
};
#undef ROW_FIELD

enum row_type { ROW_T_INT, ROW_T_NINT, ROW_T_BOOL, ROW_T_TEXT, ROW_T_BYTES };
struct row_column {
	const char *name;
	enum row_type type;
	size_t offset;
};
struct row_schema {
	const char *kind; /* the placeholder's name in ingest.sql */
	const struct row_column *columns;
	size_t ncolumns;
};
extern const struct row_schema row_position_schema, row_event_schema, row_record_schema,
	row_photo_schema;

/* Parameters of the statement: every column of the four kinds. */
#define ROW_ONE(name, type) +1
enum {
	ROWS_NPARAMS =
		0 ROW_POSITION(ROW_ONE) ROW_EVENT(ROW_ONE) ROW_RECORD(ROW_ONE) ROW_PHOTO(ROW_ONE),
	ROWS_MAX_COLUMNS = 40
};
#undef ROW_ONE

/* A growing buffer. */
struct row_bytes {
	uint8_t *buf;
	size_t len, cap;
};

/* One column of a batch: an array in PostgreSQL's binary format. */
struct row_array {
	struct row_bytes b; /* the header (rows_params fills it) then the elements */
	bool has_null;
};

/* A batch's rows of one kind, column by column. */
struct row_set {
	const struct row_schema *s;
	unsigned n; /* rows */
	struct row_array col[ROWS_MAX_COLUMNS];
};

void rows_init(struct row_set *set, const struct row_schema *s);
/* Append row (a struct row_KIND of set's schema). */
void rows_add(struct row_set *set, const void *row);
/*
 * The set's columns as binary parameters, one a column, into values,
 * lengths and formats from index 0; returns how many (the schema's
 * columns).  Valid until the next rows_add or rows_reset.
 */
unsigned rows_params(struct row_set *set, const char **values, int *lengths, int *formats);
/* Empty the set, keeping its memory. */
void rows_reset(struct row_set *set);
void rows_free(struct row_set *set);
/*
 * sql with every @kind@ of the four schemas replaced by
 * "unnest($i::type[], ...) AS x(name, ...)", the parameters numbered
 * from $1 in the order position, event, record, photo (rows_params's
 * order); malloc'ed.
 */
char *rows_statement(const char *sql) MUSTCHECK;

#endif
