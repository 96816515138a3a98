/*
 * command.h - the platform's commands to terminals (docs/protocol.md,
 * "Commands"): queued in terminal_command by hoursctl, taken by the
 * instance the terminal is authenticated on, sent in 0x8900, answered by
 * the terminal in 0x0900.
 */
#ifndef HOURSD_COMMAND_H
#define HOURSD_COMMAND_H

#include "hoursd.h"

struct server;
struct conn_msg;
struct conn_verdict;
struct jtx_header;

/* Once a second: send the commands queued lately for terminals authenticated here. */
void command_poll(struct server *srv);
/* A terminal authenticated here (conn_auth_fn): send what waits for it. */
void command_authenticated(struct server *srv, int64_t terminal_id);
/*
 * A terminal's answer to a command (0x0205, 0x0301, 0x0502; h: its
 * extension header), from timing.c: the verdict stores it, then 0x8001.
 */
void command_answer(const struct conn_msg *in, const struct jtx_header *h, struct conn_verdict *v);

#endif
