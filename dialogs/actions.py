"""What a dialog step asks the shell to do: the outputs of ``dialogs.step``.

The core never sends or stores anything itself; the service carries these out
in the same transaction that saves the new state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from dialogs.states import DigestStatus, State


FileKind = Literal["export", "progress", "summary"]


@dataclass(frozen=True)
class Option:
    """One answer the person can pick; ``value`` is stable, ``label`` is in their language."""

    value: str
    label: str


@dataclass(frozen=True)
class Say:
    """A message to the person.

    ``question`` is the turn id that a Choice must carry to answer it (None: no answer
    expected). ``scale`` marks a 0–10 style question answered with a number.
    ``urgent`` marks the emergency message, which goes out before anything else.
    """

    text: str
    question: str | None = None
    options: tuple[Option, ...] = ()
    scale: tuple[int, int] | None = None
    urgent: bool = False


@dataclass(frozen=True)
class RecordConsent:
    """Consent given (or withdrawn) under the consent text of ``version``."""

    version: int
    given: bool


@dataclass(frozen=True)
class RecordTriage:
    """One answer of the red-flag checklist or the soreness questions."""

    episode: int
    question: str
    answer: str
    rules_version: int


@dataclass(frozen=True)
class RecordPain:
    """A pain score on plan day ``day`` (0 = the day of enrolment)."""

    episode: int
    day: int
    score: int
    trend: str | None


@dataclass(frozen=True)
class RecordRead:
    """The person opened an article (from a digest issue, if ``issue`` is set)."""

    slug: str
    issue: int | None = None


@dataclass(frozen=True)
class RecordSubscription:
    """The digest subscription changed: ``pending`` (asked), ``on`` (confirmed) or ``off``."""

    status: DigestStatus


@dataclass(frozen=True)
class SendFile:
    """Send the person a file the shell builds from what is stored: their ``export``
    (JSON and CSV), their ``progress`` chart, or the ``summary`` for a physio or doctor."""

    kind: FileKind


@dataclass(frozen=True)
class ForgetUser:
    """Erase everything stored about this person."""


Action = (
    Say
    | RecordConsent
    | RecordTriage
    | RecordPain
    | RecordRead
    | RecordSubscription
    | SendFile
    | ForgetUser
)


@dataclass(frozen=True)
class Transition:
    """The result of one step: the new state and what to do.

    ``stale`` is set when the event was a button from an older question, or one whose
    value the question does not have: a transport shows "expired" at the button.
    """

    state: State
    actions: tuple[Action, ...]
    stale: bool = False

    @property
    def messages(self) -> tuple[Say, ...]:
        return tuple(a for a in self.actions if isinstance(a, Say))
