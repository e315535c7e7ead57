"""The conversation state as JSON for the database, and back."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError

from dialogs.states import State

_STATE = TypeAdapter(State)


def dump_state(state: State) -> dict[str, Any]:
    data: dict[str, Any] = _STATE.dump_python(state, mode="json", exclude_defaults=True)
    return data


def load_state(data: dict[str, Any]) -> State | None:
    """The stored state, or None when it no longer fits the code (the person starts over)."""
    try:
        return _STATE.validate_python(data)
    except ValidationError:
        return None
