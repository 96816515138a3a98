/*
 * reasons.c - see reasons.h.
 */
#include "hoursd.h"
#include "reasons.h"
#include "server.h"

/* Every reason a record can be refused with; "other" last. */
static const char *const reasons[] = {
	"no_signature",
	"bad_signature",
	"certificate_expired",
	"no_signing_key",
	"terminal_disabled",
	"terminal_no_mismatch",
	"coach_not_logged_in",
	"student_not_logged_in",
	"no_session",
	"session_timed_out",
	"class_mismatch",
	"record_in_future",
	"record_too_old",
	"no_syllabus_part",
	"vehicle_class_mismatch",
	"kind_not_allowed",
	"no_gnss_fix",
	"speed_over_limit",
	"speed_mismatch",
	"position_jump",
	"no_training_site",
	"outside_training_site",
	"student_overlap",
	"coach_overlap",
	"daily_cap",
	"number_reused",
	"other",
};
_Static_assert(ARRAY_SIZE(reasons) <= HOURSD_REASONS, "server_stats counts every reason");

size_t reason_index(const char *reason)
{
	for (size_t i = 0; i + 1 < ARRAY_SIZE(reasons); i++)
		if (strcmp(reasons[i], reason) == 0)
			return i;
	return ARRAY_SIZE(reasons) - 1;
}

const char *reason_name(size_t i)
{
	return i < ARRAY_SIZE(reasons) ? reasons[i] : NULL;
}
