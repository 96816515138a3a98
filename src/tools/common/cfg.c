/*
 * cfg.c - see cfg.h.
 */
#include "hoursd.h"
#include "common/cfg.h"
#include "conf.h"

static const char *path;
static struct hconf *conf;
static bool tried;

void cfg_init(const char *p)
{
	path = p;
}

const char *cfg_path(void)
{
	return path;
}

const struct hconf *cfg_get(void)
{
	char err[512];
	if (tried || path == NULL)
		return conf;
	tried = true;
	conf = conf_load(path, err, sizeof(err));
	if (conf == NULL)
		fprintf(stderr, "%s\n", err);
	return conf;
}

void cfg_free(void)
{
	conf_free(conf);
	conf = NULL;
}
