/*
 * conf.c - the configuration file (src/conf.c through ydoc.c and
 * libyaml): any bytes, a clear error or a configuration; the key table's
 * questions answered on what loaded.  Input: the file.
 */
#include "conf.h"
#include "file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	char where[256];
	struct hconf *c = conf_load(fuzz_file(data, size), err, sizeof(err));
	if (c == NULL) {
		FUZZ_ASSERT(err[0] != '\0');
		return 0;
	}
	for (size_t i = 0; i < conf_key_count(); i++)
		if (conf_key_was_set(c, i))
			FUZZ_ASSERT(conf_key_where(c, conf_key_name(i), where, sizeof(where)) !=
				    NULL);
	conf_free(c);
	return 0;
}
