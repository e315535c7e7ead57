"""The keys of every message the dialogs send; content/messages.yaml must have exactly these."""

from enum import StrEnum


class M(StrEnum):
    INTRO = "intro"
    HELP = "help"
    EMPTY = "empty"
    NOT_UNDERSTOOD = "not_understood"
    EXPIRED = "expired"
    UNKNOWN_COMMAND = "unknown_command"
    CONTINUE = "continue"
    EMERGENCY = "emergency"
    NO_CONSENT_ADVICE = "no_consent_advice"
    TRIAGE_INTRO = "triage_intro"
    REDFLAGS_CLEAR = "redflags_clear"
    OFFER_PLAN_REDFLAG = "offer_plan_redflag"
    ASSESS_SORENESS = "assess_soreness"
    ASSESS_UNCLEAR = "assess_unclear"
    ASSESS_INJURY = "assess_injury"
    TIP_DEADLIFT = "tip_deadlift"
    TIP_SQUAT = "tip_squat"
    TIP_ROW = "tip_row"
    TIP_OTHER = "tip_other"
    PLAN_DECLINED = "plan_declined"
    ENROLLED = "enrolled"
    ADVICE_DAY_0 = "advice_day_0"
    ADVICE_DAY_1 = "advice_day_1"
    ADVICE_DAY_2 = "advice_day_2"
    ADVICE_DAY_3 = "advice_day_3"
    ADVICE_DAY_4 = "advice_day_4"
    ADVICE_DAY_5 = "advice_day_5"
    ADVICE_DAY_6 = "advice_day_6"
    ADVICE_DAY_7 = "advice_day_7"
    GET_CHECKED = "get_checked"
    ESCALATE_NO_PROGRESS = "escalate_no_progress"
    ESCALATE_REDFLAG = "escalate_redflag"
    NEXT_CHECKIN = "next_checkin"
    ENROLLED_IDLE = "enrolled_idle"
    RECOVERED = "recovered"
    PLAN_COMPLETE = "plan_complete"
    PLAN_ENDED = "plan_ended"
    PREVENTION = "prevention"
    GENTLE_REMINDER = "gentle_reminder"
    WELCOME_BACK = "welcome_back"
    PLAN_STATUS = "plan_status"
    NO_PLAN = "no_plan"
    CHECKIN_TOO_EARLY = "checkin_too_early"
    CHECKIN_DONE_TODAY = "checkin_done_today"
    STOPPED = "stopped"
    KEPT = "kept"
    SETTINGS_SAVED = "settings_saved"
    BAD_TIMEZONE = "bad_timezone"
    LANGUAGE_SET = "language_set"
    DELETED = "deleted"
    SUMMARY = "summary"
    SUMMARY_LATER = "summary_later"
    NO_SUMMARY = "no_summary"
    ARTICLES = "articles"
    ARTICLES_POPULAR = "articles_popular"
    ARTICLE_NOT_FOUND = "article_not_found"
    NEXT_PAGE = "next_page"
    SUBSCRIBED = "subscribed"
    ALREADY_SUBSCRIBED = "already_subscribed"
    NOT_SUBSCRIBED = "not_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    WAS_NOT_SUBSCRIBED = "was_not_subscribed"
    SUBSCRIBE_BUTTON = "subscribe_button"
    UNSUBSCRIBE_BUTTON = "unsubscribe_button"
    DIGEST = "digest"
    EXPORT_READY = "export_ready"
    FILE_UNDELIVERABLE = "file_undeliverable"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    FLAG_INJURY_SIGNS = "flag_injury_signs"
    FLAG_CHECKIN = "flag_checkin"
    FLAG_CHECKIN_EMERGENCY = "flag_checkin_emergency"


ADVICE_BY_DAY = (
    M.ADVICE_DAY_0,
    M.ADVICE_DAY_1,
    M.ADVICE_DAY_2,
    M.ADVICE_DAY_3,
    M.ADVICE_DAY_4,
    M.ADVICE_DAY_5,
    M.ADVICE_DAY_6,
    M.ADVICE_DAY_7,
)
TIP_BY_LIFT = {
    "deadlift": M.TIP_DEADLIFT,
    "squat": M.TIP_SQUAT,
    "row": M.TIP_ROW,
    "other": M.TIP_OTHER,
}


# The placeholders each message may use; the loader refuses any other, so a typo in a
# text fails at start-up instead of in the middle of a conversation.
PARAMS: dict[M, frozenset[str]] = {
    M.UNKNOWN_COMMAND: frozenset({"command"}),
    M.ENROLLED: frozenset({"time", "tz"}),
    M.ESCALATE_NO_PROGRESS: frozenset({"first", "now"}),
    M.NEXT_CHECKIN: frozenset({"time"}),
    M.PLAN_STATUS: frozenset({"day", "days", "time"}),
    M.CHECKIN_TOO_EARLY: frozenset({"time"}),
    M.CHECKIN_DONE_TODAY: frozenset({"time"}),
    M.SETTINGS_SAVED: frozenset({"time", "tz"}),
    M.ARTICLES_POPULAR: frozenset({"titles"}),
    M.DIGEST: frozenset({"number"}),
    M.FILE_UNDELIVERABLE: frozenset({"filename"}),
    M.FLAG_CHECKIN: frozenset({"day"}),
    M.FLAG_CHECKIN_EMERGENCY: frozenset({"day"}),
    M.SUMMARY: frozenset({"start", "answers", "flags", "scores", "escalated"}),
}
