/*
 * reasons.c - see reasons.h.
 */
#include "hoursd.h"
#include "reasons.h"

struct reason_def {
	const char *name;
	const char *doc;
};

/* Indexed by the enum; docs/protocol.md has the same table (check_reasons.c). */
static const struct reason_def reasons[R__COUNT] = {
	[R_NO_SIGNATURE] = {"no_signature", "no check string, and rules.unsigned is reject"},
	[R_BAD_SIGNATURE] = {"bad_signature",
			     "the check string does not verify with the signing certificate"},
	[R_CERTIFICATE_EXPIRED] = {"certificate_expired",
				   "the signing certificate is outside its validity now"},
	[R_NO_SIGNING_KEY] = {"no_signing_key",
			      "no usable signing certificate (none cached, unsupported key)"},
	[R_TERMINAL_DISABLED] = {"terminal_disabled", "the terminal is disabled in the registry"},
	[R_TERMINAL_NO_MISMATCH] = {"terminal_no_mismatch",
				    "the extension header's terminal number is not the registry's"},
	[R_COACH_NOT_LOGGED_IN] = {"coach_not_logged_in",
				   "a login, logout or record names another coach than the "
				   "logged-in one"},
	[R_STUDENT_NOT_LOGGED_IN] = {"student_not_logged_in",
				     "a record or logout of a student who is not logged in"},
	[R_NO_SESSION] = {"no_session",
			  "a record when no coach, or no student, is logged in on the terminal"},
	[R_SESSION_TIMED_OUT] = {"session_timed_out",
				 "a record more than session.timeout_s after the student's last "
				 "activity"},
	[R_CLASS_MISMATCH] = {"class_mismatch",
			      "a record whose class ID is not the student login's"},
	[R_OUTSIDE_SCHEDULE] = {"outside_schedule",
				"a student login outside every slot of the student, and "
				"rules.schedule is refuse"},
	[R_COACH_NOT_REGISTERED] = {"coach_not_registered",
				    "a coach login of a coach number the registry does not have"},
	[R_COACH_RETIRED] = {"coach_retired",
			     "a coach login of a retired coach, or after the coach's leave date"},
	[R_COACH_OTHER_SCHOOL] = {"coach_other_school",
				  "a login whose coach works for another school than the "
				  "terminal's or the student's"},
	[R_COACH_CLASS_NOT_ALLOWED] = {"coach_class_not_allowed",
				       "a student login whose class the coach may not teach"},
	[R_VEHICLE_NOT_REGISTERED] = {"vehicle_not_registered",
				      "a student login in a vehicle retired from the registry"},
	[R_VEHICLE_OTHER_SCHOOL] = {"vehicle_other_school",
				    "a student login in a vehicle of another school"},
	[R_VEHICLE_OTHER_CLASS] = {"vehicle_other_class",
				   "a student login in a vehicle of another class than the "
				   "student's"},
	[R_TERMINAL_NOT_BOUND] = {"terminal_not_bound",
				  "a student login in the vehicle on a terminal bound to no "
				  "vehicle"},
	[R_RECORD_IN_FUTURE] = {"record_in_future",
				"a record more than rules.max_future_s ahead of the clock"},
	[R_RECORD_TOO_OLD] = {"record_too_old",
			      "a record older than rules.max_record_age_s when it arrives"},
	[R_NO_SYLLABUS_PART] = {"no_syllabus_part",
				"the course's class and part are not in the syllabus"},
	[R_VEHICLE_CLASS_MISMATCH] = {"vehicle_class_mismatch",
				      "the course's class is not the terminal's vehicle's"},
	[R_KIND_NOT_ALLOWED] = {"kind_not_allowed", "a kind of minute the part does not allow"},
	[R_NO_GNSS_FIX] = {"no_gnss_fix", "a vehicle minute without a valid GNSS fix"},
	[R_SPEED_OVER_LIMIT] = {"speed_over_limit", "the top speed is over the part's limit"},
	[R_SPEED_MISMATCH] = {"speed_mismatch",
			      "satellite and recorder speed further apart than the rules allow"},
	[R_POSITION_JUMP] = {"position_jump",
			     "too far from the terminal's last accepted minute for "
			     "rules.max_jump_kmh"},
	[R_NO_TRAINING_SITE] = {"no_training_site",
				"an on-site part, and the terminal's school has no site"},
	[R_OUTSIDE_TRAINING_SITE] = {"outside_training_site",
				     "an on-site minute outside every site of the school"},
	[R_STUDENT_OVERLAP] = {"student_overlap",
			       "the database: the student has an accepted minute then elsewhere"},
	[R_COACH_OVERLAP] = {"coach_overlap",
			     "the database: the coach has an accepted minute then elsewhere"},
	[R_DAILY_CAP] = {"daily_cap",
			 "the database: over the part's daily cap; stored, not counted"},
	[R_NUMBER_REUSED] = {"number_reused",
			     "another record under a stored record number: kept aside, refused"},
	[R_OTHER] = {"other", "a reason from the database that hoursd does not know"},
};

const char *reason_name(enum reason r)
{
	return r > R_NONE && r < R__COUNT ? reasons[r].name : NULL;
}

const char *reason_doc(enum reason r)
{
	return r > R_NONE && r < R__COUNT ? reasons[r].doc : NULL;
}

enum reason reason_index(const char *name)
{
	if (name == NULL)
		return R_NONE;
	for (enum reason r = R_NONE + 1; r < R_OTHER; r++)
		if (strcmp(reasons[r].name, name) == 0)
			return r;
	return R_OTHER;
}
