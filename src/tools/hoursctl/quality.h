/*
 * quality.h - the published pages of the schools' training quality
 * (quality.c), from the quarterly report's document (report.c).
 */
#ifndef HOURSD_QUALITY_H
#define HOURSD_QUALITY_H

#include "hoursd.h"

#include <jansson.h>
#include <stdio.h>

/*
 * Writes DIR/quality-QUARTER.html (the index) and a page per school,
 * DIR/quality-QUARTER-CODE.html, from doc ({"quarter", "schools": [...]},
 * each school with its figures, its lists, its findings and its "history":
 * the four quarters before, oldest first); says each file on out (NULL:
 * silent).  False, said on stderr, when a file cannot be written.
 */
bool quality_pages_write(const json_t *doc, const char *dir, FILE *out);

#endif
