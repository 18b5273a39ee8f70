"""What can be wrong with what a user typed, in words the user can act on."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Examples = str | Sequence[str] | None


def as_examples(examples: Examples) -> tuple[str, ...]:
    if not examples:
        return ()
    return (examples,) if isinstance(examples, str) else tuple(examples)


class InvalidValue(ValueError):
    """A value that cannot be read; `str()` says why, `example` shows one or more that work."""

    def __init__(self, message: str, *, example: Examples = None) -> None:
        super().__init__(message)
        self.message = message
        self.examples = as_examples(example)


@dataclass(frozen=True)
class FieldError:
    """One problem with one field. `field` is the API field name, which is also the modal block_id."""

    field: str
    label: str
    problem: str
    examples: tuple[str, ...] = ()
    kind: Literal["missing", "invalid"] = "invalid"

    @property
    def inline(self) -> str:
        """The problem without the field's name: for display beside the field itself."""
        return f"{self.problem[:1].upper()}{self.problem[1:]}{self._stop()}{self._examples()}"

    @property
    def message(self) -> str:
        """The problem naming the field: for a message that is not next to it."""
        joint = " " if self.problem.startswith("is ") else ": "
        return f"{self.label} (`{self.field}`){joint}{self.problem}{self._stop()}{self._examples()}"

    def _stop(self) -> str:
        """A full stop, unless the problem ends with its own (a question: "which one?")."""
        return "" if self.problem.endswith((".", "?", "!")) else "."

    def _examples(self) -> str:
        if not self.examples:
            return ""
        label = "Example" if len(self.examples) == 1 else "Examples"
        return f" {label}: " + ", ".join(f"`{example}`" for example in self.examples)


class InputError(Exception):
    """Everything wrong with one operation's input, field by field; nothing was sent to SegMetrics."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(error.message for error in self.errors))

    @property
    def only_missing(self) -> bool:
        """True when the input is merely incomplete: a form can ask for the rest."""
        return all(error.kind == "missing" for error in self.errors)

    def by_field(self) -> dict[str, str]:
        """Inline messages keyed by field (= modal block_id), several problems of one field joined."""
        merged: dict[str, str] = {}
        for error in self.errors:
            merged[error.field] = f"{merged[error.field]} {error.inline}" if error.field in merged else error.inline
        return merged


class CommandError(Exception):
    """Chat text that does not follow the grammar (unknown operation or key, unbalanced quotes, …)."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
