/*
 * notify.h - the systemd readiness protocol (sd_notify) without libsystemd.
 *
 * hoursd says READY=1 once it listens, RELOADING=1 and READY=1 around a
 * SIGHUP reload, and STOPPING=1 when it starts to drain.  Outside systemd
 * ($NOTIFY_SOCKET unset) every call does nothing.
 */
#ifndef HOURSD_NOTIFY_H
#define HOURSD_NOTIFY_H

#include "hoursd.h"

/*
 * Send state ("READY=1", "STOPPING=1", "STATUS=text", lines joined by
 * '\n') to $NOTIFY_SOCKET.  A state with a RELOADING=1 line also carries
 * MONOTONIC_USEC=, as systemd 253 and later expect.  Failures are logged
 * at warn level and otherwise ignored: the service manager is advisory.
 */
void notify(const char *state);

#endif
