/*
 * hoursd.h - the umbrella header: included first by every .c of the project.
 *
 * Holds only what every module needs: standard headers, the attribute
 * macros and the version.  Module interfaces live in their own headers.
 */
#ifndef HOURSD_H
#define HOURSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOURSD_VERSION "0.1.0"

/* A result the caller must look at. */
#define MUSTCHECK __attribute__((warn_unused_result))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#define UNUSED __attribute__((unused))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
