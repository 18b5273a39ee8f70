"""A table's columns to an operation's fields, and each row to the raw values a chat command would give.

A column names a field by the field's name, any of its chat aliases, or its form label, ignoring case, spaces
and punctuation ("First Name", "first_name" and "FirstName" are all `first_name`; "E-mail" is `email`). A
trailing note in parentheses is dropped when the name alone matches nothing ("Spend (USD)" is `spend`,
"Clicks (all)" is `clicks`), and so is a trailing "address" ("Email Address" is `email`). Numbered columns
fill a multi-entry field together ("Tag 1", "Tag 2" → `tags`, each an entry). A `field.plan` column (also
written `Field: plan`) fills the key/value field whose chat prefix is `field`, under the key `plan`, as
`field.plan=` does in chat. Other columns are ignored, and said so. The user fixes a mapping with overrides:
a column name to a field (or `field.<name>`), or to "" / "-" to ignore the column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from bot.distance import closest
from bot.fields import KeyValues
from bot.operation import CONTACT_FIELDS, Operation, Param
from bot.problems import FieldError, InputError

IGNORE = ("", "-")


def normalize(text: str) -> str:
    """Lower case, letters and digits only: "First Name" → "firstname", "E-mail" → "email"."""
    return "".join(char for char in text.casefold() if char.isalnum())


class MappingError(ValueError):
    """Every problem of a mapping of columns to fields, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ColumnMap:
    """Where each column goes: a field's name, a key/value entry's key text (`field.plan`), or None (ignored)."""

    operation: str
    columns: tuple[str, ...]
    fields: tuple[str | None, ...]
    ignored: tuple[str, ...]

    def describe(self) -> list[str]:
        """One line per column: `First Name → first_name`, `Notes: ignored`."""
        return [
            f"{_label(column, index)} → {target}" if target else f"{_label(column, index)}: ignored"
            for index, (column, target) in enumerate(zip(self.columns, self.fields, strict=True))
        ]


def map_columns(header: Sequence[str], op: Operation, overrides: Mapping[str, str] | None = None) -> ColumnMap:
    """Match each column of `header` to a field of `op`; `overrides` (column → field, alias or `field.<name>`,
    or "" / "-" to ignore it) win. Raise `MappingError` naming every problem: an override of a column or a
    field that does not exist, no column for any field, two columns for one single-valued field, a required
    field no column gives."""
    columns = tuple(header)
    problems: list[str] = []
    chosen = _overrides(columns, op, overrides or {}, problems)
    index = _index(op)
    targets: list[str | None] = []
    for position, column in enumerate(columns):
        if position in chosen:
            targets.append(chosen[position])
        else:
            targets.append(_match(column, op, index))
    mapping = ColumnMap(
        operation=op.name,
        columns=columns,
        fields=tuple(targets),
        ignored=tuple(column for column, target in zip(columns, targets, strict=True) if target is None),
    )
    if not any(targets):
        problems.append(_nothing_matches(columns, op))
    else:
        problems += _twice(mapping, op)
        problems += _uncovered(mapping, op)
    if problems:
        raise MappingError(problems)
    return mapping


def raw_of(row_values: Sequence[str], mapping: ColumnMap, op: Operation) -> dict[str, str | list[str]]:
    """The raw values of one row, as the chat command with the same keys would give them: empty cells left
    out; a multi-entry field (tags, items, custom fields) a list with one entry per column that fills it
    (a tags cell "VIP, Webinar 2026" is one entry, as `tags="VIP, Webinar 2026"`); a `field.plan` column the
    entry "plan = <value>". Raises `InputError`, as reading the values would, for what chat refuses too: a
    `field.<name>` cell with a line break (its value is one line)."""
    raw: dict[str, str | list[str]] = {}
    problems: list[FieldError] = []
    for value, target in zip(row_values, mapping.fields, strict=False):
        cell = value.strip()
        if target is None or not cell:
            continue
        prefixed = op.prefixed(target) if "." in target else None
        if prefixed is not None:
            spec, entry_key = prefixed
            assert isinstance(spec.kind, KeyValues)  # declarations are checked
            if any(mark in cell for mark in "\r\n"):
                problems.append(
                    FieldError(
                        spec.name,
                        spec.title,
                        f"the `{target}` cell goes on to another line; its value is one line",
                        (spec.example,) if spec.example else (),
                    )
                )
                continue
            _append(raw, spec.name, f"{entry_key} {spec.kind.separator} {cell}".rstrip())
            continue
        spec = op.param(target)
        if spec.kind.many:
            _append(raw, spec.name, cell)
        elif spec.name not in raw:  # two columns for one field are refused by the mapping
            raw[spec.name] = cell
    if problems:
        raise InputError(problems)
    return raw


def _append(raw: dict[str, str | list[str]], name: str, entry: str) -> None:
    entries = raw.setdefault(name, [])
    assert isinstance(entries, list)
    entries.append(entry)


# ---- matching ----

_PARENTHESES = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")
_NUMBERED = re.compile(r"\s*(.*?\D)\s*#?\s*\d{1,3}\s*")
_PREFIXED = re.compile(r"\s*([A-Za-z][\w-]*)\s*[.:]\s*(\S.*?)\s*")


def _index(op: Operation) -> dict[str, str]:
    """Normalized words to fields: names and aliases first, then form labels that name one field only."""
    words: dict[str, str] = {}
    for spec in op.params:
        for word in (spec.name, *spec.aliases):
            words.setdefault(normalize(word), spec.name)
    labels: dict[str, set[str]] = {}
    for spec in op.params:
        labels.setdefault(normalize(spec.title), set()).add(spec.name)
    for word, names in labels.items():
        if len(names) == 1 and word not in words:
            words[word] = next(iter(names))
    return words


def _match(column: str, op: Operation, index: Mapping[str, str]) -> str | None:
    """The field a column names, or its `field.<name>` key text, or None."""
    prefixed = _prefixed(column, op)
    if prefixed is not None:
        return prefixed
    bare = normalize(_PARENTHESES.sub("", column))
    for word in (normalize(column), bare, bare.removesuffix("address")):  # "Email Address" is `email`
        if word and word in index:
            return index[word]
    numbered = _NUMBERED.fullmatch(column)  # "Tag 1", "Tag 2": each an entry of a multi-entry field
    if numbered:
        word = normalize(numbered.group(1))
        for name in (index.get(word), index.get(f"{word}s")):
            if name is not None and op.param(name).kind.many:
                return name
    return None


def _prefixed(text: str, op: Operation) -> str | None:
    """`field.plan`, `Field: plan` → `field.plan`, when `op` has a key/value field with that prefix."""
    found = _PREFIXED.fullmatch(text)
    if not found:
        return None
    key = f"{found.group(1).lower()}.{found.group(2)}"
    return key if op.prefixed(key) is not None else None


def _target(word: str, op: Operation, index: Mapping[str, str]) -> str | None:
    """What an override's right-hand side names: a field by name, alias or label, or a `field.<name>` key."""
    name = op.key(word.strip())
    if name is not None:
        return name
    prefixed = _prefixed(word, op)
    if prefixed is not None:
        return prefixed
    return index.get(normalize(word)) if normalize(word) else None


def _overrides(
    columns: tuple[str, ...], op: Operation, overrides: Mapping[str, str], problems: list[str]
) -> dict[int, str | None]:
    """Column positions to what the user chose for them; problems for the overrides that name nothing."""
    index = _index(op)
    chosen: dict[int, str | None] = {}
    for column, word in overrides.items():
        positions = _positions(column, columns)
        if not positions:
            named = [name for name in columns if name]
            close = closest(column.strip(), named, limit=3) or _by_normal(column, named)
            hint = f' Did you mean "{close}"?' if close else ""
            problems.append(
                f'There is no column "{column}" to map to `{word}`.{hint} The columns are {_quoted(named)}.'
            )
            continue
        if word.strip() in IGNORE:
            target = None
        else:
            target = _target(word, op, index)
            if target is None:
                problems.append(_no_field(column, word, op))
                continue
        for position in positions:
            chosen[position] = target
    return chosen


def _positions(column: str, columns: tuple[str, ...]) -> list[int]:
    """Where a column named in an override is: by its name in any case, else by its normalized name."""
    wanted = column.strip().casefold()
    exact = [position for position, name in enumerate(columns) if name.strip().casefold() == wanted]
    if exact or not normalize(column):
        return exact
    return [position for position, name in enumerate(columns) if normalize(name) == normalize(column)]


def _by_normal(column: str, names: list[str]) -> str | None:
    word = normalize(column)
    return next((name for name in names if word and (word in normalize(name) or normalize(name) in word)), None)


def _no_field(column: str, word: str, op: Operation) -> str:
    words = [item for spec in op.params for item in (spec.name, *spec.aliases)]
    close = closest(word.strip(), words)
    if close is None:
        by_word = {normalize(item): item for item in words}
        close = by_word.get(closest(normalize(word), list(by_word)) or "")
    hint = f" Did you mean `{close}`?" if close else ""
    return f'"{column}" is mapped to `{word}`, which is not a field of `{op.name}`.{hint} Its fields: {_fields(op)}.'


# ---- problems ----


def _nothing_matches(columns: tuple[str, ...], op: Operation) -> str:
    named = [column for column in columns if column]
    return (
        f"None of the columns ({_quoted(named)}) matches a field of `{op.name}`. Name the columns after its "
        f'fields, or map them ("Column=field"). Its fields: {_fields(op)}.'
    )


def _twice(mapping: ColumnMap, op: Operation) -> list[str]:
    """Two columns or more for one single-valued field (or one key of a key/value field)."""
    by_target: dict[str, list[int]] = {}
    for position, target in enumerate(mapping.fields):
        if target is None:
            continue
        if "." not in target and op.param(target).kind.many:
            continue  # "Tag 1", "Tag 2": each adds its entries
        by_target.setdefault(target, []).append(position)
    problems = []
    for target, positions in by_target.items():
        if len(positions) < 2:
            continue
        names = [_label(mapping.columns[position], position) for position in positions]
        what = f"`{target}`" if "." in target else _field(op.param(target))
        both, other = ("both", "the other") if len(names) == 2 else ("all", "the others")
        problems.append(f'Columns {_quoted(names)} {both} give {what}: keep one, or ignore {other} ("{names[-1]}=-").')
    return problems


def _uncovered(mapping: ColumnMap, op: Operation) -> list[str]:
    """The required fields no column gives: the contact (e-mail or contact ID), and each required field."""
    used = {target for target in mapping.fields if target and "." not in target}
    spare = [column for column in mapping.ignored if column]
    problems = []
    if op.needs_contact and not used & set(CONTACT_FIELDS):
        example = _likely(spare, [op.param(name) for name in CONTACT_FIELDS])
        problems.append(
            f'No column gives the contact: `{op.name}` needs an e-mail or a contact ID. Add an "Email" or '
            f'"Contact ID" column, or map one ("{example}=email").' + _spare(spare)
        )
    for spec in op.params:
        if spec.required and spec.name not in used:
            problems.append(
                f"No column gives {_field(spec)}, which `{op.name}` requires. Add a column named "
                f'"{spec.title}", or map one ("{_likely(spare, [spec])}={spec.name}").' + _spare(spare)
            )
    return problems


def _likely(columns: Sequence[str], specs: Sequence[Param]) -> str:
    """Of the unused columns, the one most like one of these fields ("Amount spent (USD)" for `spend`), for
    an example; else "Column"."""
    words = [normalize(word) for spec in specs for word in (spec.name, *spec.aliases, spec.title)]
    best, score = "Column", 0.6
    for column in columns:
        name = normalize(column)
        for word in words:
            if not word or not name:
                continue
            common = SequenceMatcher(None, name, word).find_longest_match().size
            if common >= 3 and common / len(word) > score:
                best, score = column, common / len(word)
    return best


def _spare(spare: list[str]) -> str:
    return f" Columns not used: {_quoted(spare)}." if spare else ""


def _field(spec: Param) -> str:
    return f"{spec.title} (`{spec.name}`)"


def _fields(op: Operation) -> str:
    words = []
    for spec in op.params:
        if spec.prefix:
            words.append(f"`{spec.prefix}.<name>`")
        elif spec.aliases:
            words.append(f"`{spec.name}` ({', '.join(spec.aliases)})")
        else:
            words.append(f"`{spec.name}`")
    return ", ".join(words)


def _label(column: str, position: int) -> str:
    return column or f"column {position + 1} (no name)"


def _quoted(names: Sequence[str]) -> str:
    quoted = [f'"{name}"' for name in names]
    if len(quoted) <= 1:
        return "".join(quoted) or "none"
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]
