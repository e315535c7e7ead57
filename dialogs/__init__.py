"""The pure dialog core: ``step(state, event, ctx) -> Transition``.

No I/O here: no database, no network, no clock, no asyncio.
"""

from dialogs.actions import Transition
from dialogs.context import Context
from dialogs.events import CheckinDue, Choice, Command, Event, Text
from dialogs.flow import step
from dialogs.states import Node, State

__all__ = [
    "CheckinDue",
    "Choice",
    "Command",
    "Context",
    "Event",
    "Node",
    "State",
    "Text",
    "Transition",
    "step",
]
