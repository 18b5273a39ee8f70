"""Why a phrase cannot be read as one moment (kept apart from `spec`, whose dataclasses cost start-up time)."""

from __future__ import annotations


class Unreadable(Exception):
    """The phrase says something that cannot be one moment; `message` says what, `options` what it could be."""

    def __init__(self, message: str, options: tuple[str, ...] = (), *, rank: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.options = options
        # When parses disagree, the most specific refusal wins (a range over an unknown word).
        self.rank = rank
