/*
 * cfg.h - the hoursd configuration a tool is given (hoursctl -c FILE),
 * loaded at most once per command: by the first part that needs it (the
 * database's conninfo, the checkpoint key, the findings' thresholds, the
 * legacy cut-off) and kept for the others until the end.
 */
#ifndef HOURSD_TOOLS_CFG_H
#define HOURSD_TOOLS_CFG_H

#include "hoursd.h"

struct hconf;

/* The file given (-c FILE), not read yet; NULL: none. */
void cfg_init(const char *path);
/* The file given; NULL: none. */
const char *cfg_path(void);
/*
 * The configuration, loaded at the first call.  NULL when no file was
 * given, or when it does not load: its error said on stderr, once.
 */
const struct hconf *cfg_get(void);
void cfg_free(void);

#endif
