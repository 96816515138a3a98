/*
 * timing.h - the timing-training messages of a connection (0x0900 with
 * transparent type 0x13), handed up by conn.c: each judged by lesson.c,
 * with the I/O around the judgement given back to conn.c as its verdict.
 */
#ifndef HOURSD_TIMING_H
#define HOURSD_TIMING_H

#include "hoursd.h"

struct conn_msg;
struct conn_verdict;

/* conn.c's handler of 0x0900 (conn_msg_fn), on an authenticated connection. */
void timing_handle(const struct conn_msg *in, struct conn_verdict *v);

#endif
