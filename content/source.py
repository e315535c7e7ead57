"""Reading YAML content files with line numbers, so a broken file names its line.

Only PyYAML's safe loader is used: a file with python tags (``!!python/object``)
is refused like any other malformed file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class ContentError(Exception):
    """One or more problems in content files, each naming file, line and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Source:
    """A parsed YAML file: its data and the line of every mapping key and list item."""

    path: Path
    data: Any
    lines: dict[Loc, int]

    def line_of(self, loc: Loc) -> int:
        """The line of the deepest known element on ``loc`` (1-based)."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1

    def where(self, loc: Loc) -> str:
        return f"{self.path}:{self.line_of(loc)}"

    def problem(self, loc: Loc, message: str) -> str:
        dotted = ".".join(str(part) for part in loc) or "(top)"
        return f"{self.where(loc)}: {dotted}: {message}"

    def validate(self, model: type[M], loc: Loc = ()) -> M:
        """Validate the data (or the part at ``loc``) into ``model``."""
        data = self.data
        for part in loc:
            data = data[part]
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ContentError(
                [self.problem(loc + tuple(err["loc"]), err["msg"]) for err in exc.errors()]
            ) from None


def read_yaml(path: Path) -> Source:
    """Parse ``path`` with the safe loader, keeping the line of each element."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError([f"{path}:1: cannot read file: {exc}"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ContentError([f"{path}:{line}: invalid YAML: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ContentError([f"{path}:1: invalid YAML: {exc}"]) from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _collect_lines(node, (), lines)
    return Source(path=path, data=data, lines=lines)


def _collect_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*loc, key)] = key_node.start_mark.line + 1
            _collect_lines(value_node, (*loc, key), lines)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_lines(item, (*loc, index), lines)
