/*
 * ydoc.h - one YAML document loaded with libyaml, with "file:line: message"
 * errors.
 *
 * The configuration (conf.c) and the syllabus (syllabus.c) are both one
 * YAML document read with libyaml's document API and checked node by
 * node; this is the part they share: the error message, the node
 * helpers, and opening, parsing and refusing a second document, so that
 * both report the same errors the same way.  Each loader embeds a
 * struct ydoc as the first member of its own state.
 */
#ifndef HOURSD_YDOC_H
#define HOURSD_YDOC_H

#include "hoursd.h"
#include <yaml.h>

struct ydoc {
	const char *path;     /* the file, the prefix of every message */
	char *err;	      /* the caller's message buffer */
	size_t errlen;	      /* its size; 0 = no message */
	yaml_document_t *doc; /* while ydoc_load() runs its callback */
};

/* Write "path:line: message" into y->err; always returns false. */
bool PRINTF(3, 4) ydoc_fail(struct ydoc *y, unsigned long line, const char *fmt, ...);

/* The 1-based line where a node starts. */
unsigned long ydoc_line(const yaml_node_t *n);

/* "a scalar", "a sequence", "a mapping": for "expected X, got Y". */
const char *ydoc_kind(const yaml_node_t *n);

/* The text of a scalar node. */
const char *ydoc_scalar(const yaml_node_t *n);

/* A node of the document by id, NULL if there is none. */
const yaml_node_t *ydoc_node(struct ydoc *y, int id);

/*
 * Clear y->err and open y->path for reading; NULL with "cannot open" or,
 * for a directory, "cannot read" at line 0.  The caller fcloses it.
 */
FILE *ydoc_open(struct ydoc *y);

/* What ydoc_load() calls with the root node of the document. */
typedef bool (*ydoc_fn)(struct ydoc *y, const yaml_node_t *root, void *arg);

/*
 * Parse the first document of f and call fn on its root, then refuse a
 * second document.  False with a message in y->err on a YAML error, an
 * empty document (empty_message at line 1), fn's own failure, or a second
 * document.  y->doc is set only while fn runs.
 */
bool ydoc_load(struct ydoc *y, FILE *f, ydoc_fn fn, void *arg, const char *empty_message);

#endif
