/*
 * ydoc.c - one YAML document with "file:line: message" errors, see ydoc.h.
 */
#include "hoursd.h"
#include "ydoc.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

bool ydoc_fail(struct ydoc *y, unsigned long line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (y->errlen > 0)
		snprintf(y->err, y->errlen, "%s:%lu: %s", y->path, line, msg);
	return false;
}

unsigned long ydoc_line(const yaml_node_t *n)
{
	return (unsigned long)n->start_mark.line + 1;
}

const char *ydoc_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

const char *ydoc_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

const yaml_node_t *ydoc_node(struct ydoc *y, int id)
{
	return yaml_document_get_node(y->doc, id);
}

FILE *ydoc_open(struct ydoc *y)
{
	if (y->errlen > 0)
		y->err[0] = '\0';
	FILE *f = fopen(y->path, "rb");
	if (!f) {
		ydoc_fail(y, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		ydoc_fail(y, 0, "cannot read: %s", strerror(EISDIR));
		return NULL;
	}
	return f;
}

/* Parse the next document of the stream; false with a message on a YAML error. */
static bool parse_doc(struct ydoc *y, yaml_parser_t *parser, yaml_document_t *doc)
{
	if (yaml_parser_load(parser, doc))
		return true;
	const char *what = parser->problem ? parser->problem : "unknown error";
	unsigned long line = (unsigned long)parser->problem_mark.line + 1;
	if (parser->context)
		return ydoc_fail(y, line, "YAML syntax error: %s %s", parser->context, what);
	return ydoc_fail(y, line, "YAML syntax error: %s", what);
}

static bool load_root(struct ydoc *y, yaml_parser_t *parser, ydoc_fn fn, void *arg,
		      const char *empty_message)
{
	const yaml_node_t *root = yaml_document_get_root_node(y->doc);
	if (!root)
		return ydoc_fail(y, 1, "%s", empty_message);
	if (!fn(y, root, arg))
		return false;

	/* A second document would be silently ignored; refuse it instead. */
	yaml_document_t next;
	if (!parse_doc(y, parser, &next))
		return false;
	const yaml_node_t *extra = yaml_document_get_root_node(&next);
	unsigned long extra_line = extra ? ydoc_line(extra) : 0;
	yaml_document_delete(&next);
	if (extra)
		return ydoc_fail(y, extra_line, "more than one YAML document");
	return true;
}

bool ydoc_load(struct ydoc *y, FILE *f, ydoc_fn fn, void *arg, const char *empty_message)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	bool ok = false;

	if (!yaml_parser_initialize(&parser))
		return ydoc_fail(y, 0, "out of memory");
	yaml_parser_set_input_file(&parser, f);
	if (parse_doc(y, &parser, &doc)) {
		y->doc = &doc;
		ok = load_root(y, &parser, fn, arg, empty_message);
		y->doc = NULL;
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	return ok;
}
