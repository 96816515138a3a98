/*
 * policesim.h - the parts of policesim in files of their own.
 */
#ifndef HOURSD_POLICESIM_H
#define HOURSD_POLICESIM_H

#include "hoursd.h"

/*
 * policesim pre-enter ...: ask hoursd's readiness endpoint (mutual TLS)
 * whether the student is enrolled and scheduled, and pre-enter only then.
 * argv[0] is "pre-enter".  Exit status: 0 pre-entered, 1 refused, 2 a
 * usage error, 3 hoursd could not be asked.
 */
int policesim_preenter(int argc, char **argv);

#endif
