/*
 * html.h - text written into an HTML page (the report's pages): the
 * characters that would be markup written as entities.
 */
#ifndef HOURSD_TOOLS_HTML_H
#define HOURSD_TOOLS_HTML_H

#include <stdio.h>

/* s (NULL: nothing) with &, <, > and " as entities. */
void html_text(FILE *f, const char *s);

#endif
