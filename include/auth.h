/*
 * auth.h - a terminal's authentication (0x0102), handed up by conn.c: the
 * auth code handed out at registration, or the timing layout's signed
 * timestamp (fresh within connection.auth_window_s, signed by the
 * terminal's key, newer than the last one accepted on any instance: no
 * replay); an address with connection.auth_failures_per_min failures this
 * minute is refused unchecked and its connection closed.
 */
#ifndef HOURSD_AUTH_H
#define HOURSD_AUTH_H

#include "hoursd.h"

struct conn_msg;
struct conn_verdict;
struct db;

/* conn.c's handler of 0x0102 (conn_msg_fn), in any state. */
void auth_handle(const struct conn_msg *in, struct conn_verdict *v);

/*
 * At start: a warning for each active terminal whose PKCS#12 goes to
 * whoever registers its number (neither IMEI nor factory serial to match).
 */
void auth_warn_unbound(struct db *db);

#endif
