/*
 * fuzz.h - what the libFuzzer harnesses of fuzz/ share: a cursor over the
 * fuzzer's input (the first bytes choose a mode, the rest is the data)
 * and the check that makes a broken invariant a crash libFuzzer keeps.
 * Each harness is one program (fuzz/NAME.c -> build/fuzz/NAME); make fuzz,
 * make fuzz-cov and docs/operations.md ("Fuzzing") say how they are run.
 */
#ifndef HOURSD_FUZZ_H
#define HOURSD_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test, not of the input: abort so that libFuzzer saves the case. */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__,       \
				#cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* The next byte, 0 once the input is used up. */
static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_byte(in);
	return (uint16_t)(hi << 8 | fuzz_byte(in));
}

/* Up to want bytes (fewer when the input ends); *len gets how many. */
static inline const uint8_t *fuzz_take(struct fuzz_in *in, size_t want, size_t *len)
{
	const uint8_t *p = in->p;
	*len = want < in->n ? want : in->n;
	in->p += *len;
	in->n -= *len;
	return p;
}

/* A heap copy of exactly the bytes, so that ASan sees a read one past the end. */
static inline uint8_t *fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);
	if (d == NULL)
		abort();
	if (n)
		memcpy(d, p, n);
	return d;
}

#endif
