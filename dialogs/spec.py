"""What the dialogs need from content, derived from the declarations in states and texts."""

from content.model import Requirements
from dialogs.states import QUESTIONS, Node
from dialogs.texts import PARAMS, M

_CHECKIN = frozenset({"tz", "day"})
QUESTION_PARAMS: dict[str, frozenset[str]] = {
    node.value: frozenset({"tz"}) for node in QUESTIONS
} | {
    Node.REDFLAG.value: frozenset({"tz", "n", "total", "question"}),
    Node.CHECKIN_PAIN.value: _CHECKIN,
    Node.CHECKIN_TREND.value: _CHECKIN,
    Node.CHECKIN_FLAG.value: _CHECKIN,
    Node.CHECKIN_EMERGENCY.value: _CHECKIN,
}

REQUIREMENTS = Requirements(
    questions={node.value: spec.options for node, spec in QUESTIONS.items()},
    question_params=QUESTION_PARAMS,
    messages={key.value: PARAMS.get(key, frozenset()) for key in M},
)
