"""The command menu (content/commands.yaml): names and one-line descriptions, de and en."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from content.localized import LocalText
from content.source import read_yaml

COMMANDS_FILE = Path(__file__).parent / "commands.yaml"


class MenuCommand(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    description: LocalText

    @field_validator("description")
    @classmethod
    def _fits(cls, value: LocalText) -> LocalText:
        if max(len(value.de), len(value.en)) > 256:
            raise ValueError("a description may have at most 256 characters")
        return value


class CommandMenu(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    commands: tuple[MenuCommand, ...] = Field(min_length=1, max_length=100)

    @field_validator("commands")
    @classmethod
    def _unique(cls, value: tuple[MenuCommand, ...]) -> tuple[MenuCommand, ...]:
        names = [command.name for command in value]
        if len(names) != len(set(names)):
            raise ValueError("a command is listed twice")
        return value


def load_menu(path: Path = COMMANDS_FILE) -> CommandMenu:
    """Read and check ``path``; a broken file raises ContentError naming file and line."""
    return read_yaml(path).validate(CommandMenu)
