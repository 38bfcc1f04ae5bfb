"""Errors a user can cause: each has a stable code, a sentence that says what to do and
the path of the offending input."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input."""

    code: str
    message: str
    path: Path = ()
    details: dict[str, Any] = field(default_factory=dict)

    def under(self, prefix: Sequence[PathPart]) -> Problem:
        """The same problem, its path placed under ``prefix``."""
        return Problem(self.code, self.message, (*prefix, *self.path), self.details)


def dedupe(problems: list[Problem]) -> list[Problem]:
    """The problems without repeats (same code at the same path)."""
    seen: set[tuple[str, Path]] = set()
    unique = []
    for problem in problems:
        if (problem.code, problem.path) not in seen:
            seen.add((problem.code, problem.path))
            unique.append(problem)
    return unique


class TesseraError(Exception):
    """A request that cannot be carried out; nothing was changed.

    Carries one or more :class:`Problem`; the first is the headline.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        if not problems:
            raise ValueError("TesseraError needs at least one problem")
        self.problems = list(problems)
        super().__init__(self.problems[0].message)

    @classmethod
    def single(cls, code: str, message: str, path: Path = (), **details: Any) -> TesseraError:
        return cls([Problem(code, message, path, details)])

    @property
    def code(self) -> str:
        return self.problems[0].code

    @property
    def path(self) -> Path:
        return self.problems[0].path


class NotFound(TesseraError):
    """The thing named does not exist (or is not visible)."""


@contextlib.contextmanager
def located(prefix: Sequence[PathPart]) -> Iterator[None]:
    """Place the paths of the problems raised inside under ``prefix`` (a nested field of a
    query, a file of a package…)."""
    try:
        yield
    except TesseraError as exc:
        exc.problems = [p.under(prefix) for p in exc.problems]
        raise
