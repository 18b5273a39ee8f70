"""A spreadsheet saved as CSV or TSV (or a table pasted in Slack), read row by row without loading it whole.

The first non-blank line is the header: it names the columns. It is refused when it looks like data rather
than names: when one of its cells is an e-mail address, or when none of its cells has a letter in it (numbers,
dates and amounts only). The delimiter is decided by the header line alone (outside quotes): a tab if it has
one, else a semicolon if it has more semicolons than commas (a European Excel), else a comma; an Excel
`sep=;` line before the header names it instead.

Line numbers are those of the file as an editor shows them (the header is line 1 unless blank lines come
before it): a row starts on the line of its first cell, and a quoted cell with line breaks makes its row span
several lines; a cell is at most 128 KB (the `csv` module's limit: longer is an unclosed quote, said so).
Blank lines, and rows whose cells are all empty (`,,,`), are skipped. Cells are stripped of the whitespace
around them. Every row has the header's number of cells; more is tolerated only when the extra ones are
empty (a spreadsheet's trailing delimiters), fewer never (a row of another delimiter, an unclosed quote).
A UTF-8 byte order mark (Excel's "CSV UTF-8") is accepted; anything that is not UTF-8 text is refused,
saying how to save it as CSV UTF-8. Nothing is read until asked: `rows()` re-opens the source and streams it.
At most `MAX_ROWS` data rows and `MAX_BYTES` bytes: `count_rows()` reads it all once to refuse it up front.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_ROWS = 200_000
MAX_BYTES = 50 * 1024 * 1024

DELIMITERS = {",": "commas", "\t": "tabs", ";": "semicolons"}
SAVE_AS = (
    'Save it as "CSV UTF-8 (Comma delimited)" (Excel: File → Save As; Google Sheets: File → Download → '
    "Comma-separated values; Numbers: File → Export To → CSV, Unicode UTF-8)."
)


class TableError(ValueError):
    """A file that cannot be read as a table: what is wrong, where, and what works instead."""


@dataclass(frozen=True)
class Row:
    """One data row: the line of the file it starts on, and one stripped cell per header column."""

    line: int
    values: tuple[str, ...]


Opener = Callable[[], BinaryIO]


class Table:
    """A table read from a source that can be opened again: its header, and its rows streamed on demand."""

    def __init__(
        self,
        opener: Opener,
        *,
        header: tuple[str, ...],
        delimiter: str,
        name: str,
        header_line: int,
        max_rows: int = MAX_ROWS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self._opener = opener
        self.header = header
        self.delimiter = delimiter
        self.name = name
        self.header_line = header_line
        self.max_rows = max_rows
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"Table({self.name!r}, header={self.header!r}, delimiter={self.delimiter!r})"

    def rows(self) -> Iterator[Row]:
        """The data rows, read from the start of the source each time; raises `TableError` at the first row
        that cannot be read (so a caller that needs all or nothing reads them all first: `count_rows()`)."""
        width = len(self.header)
        count = 0
        records = _Reading(self._opener, self.name, self.max_bytes, self.delimiter).records()
        for index, (start, end, cells) in enumerate(records):
            if index == 0:
                continue  # the header
            if len(cells) != width:
                cells = self._fit(start, end, cells)
            count += 1
            if count > self.max_rows:
                raise TableError(
                    f"{_cap(self.name)} has more than {self.max_rows:,} rows (line {start} is row {count:,}); "
                    f"the limit is {self.max_rows:,} rows per import. Split it into files of at most "
                    f"{self.max_rows:,} rows and import them one after the other."
                )
            yield Row(start, tuple(cells))

    def count_rows(self) -> int:
        """Read the whole source once and count its data rows: every problem a later `rows()` would meet
        (bad text, a malformed row, too many rows or bytes) is raised now, before anything is sent."""
        return sum(1 for _ in self.rows())

    def _fit(self, start: int, end: int, cells: list[str]) -> list[str]:
        """The row's cells, as many as the header's: extra empty cells are dropped; anything else is refused."""
        width = len(self.header)
        if len(cells) > width and not any(cells[width:]):
            return cells[:width]
        where = f"Line {start}" if start == end else f"The row on lines {start}–{end}"
        found = f"{where} of {self.name} has {_cells(len(cells))} but the header (line {self.header_line}) has {width}"
        if len(cells) > width:
            extra = ", ".join(f'"{_short(cell)}"' for cell in cells[width:] if cell)
            found += f" (beyond the last named column: {extra})"
        if start != end:
            cause = (
                f'most likely a quote (") opened on line {start} is never closed, so the following lines were read '
                'as part of one cell. Close it, or write a quote inside a quoted cell as two quotes ("").'
            )
        else:
            others = [word for mark, word in DELIMITERS.items() if mark != self.delimiter and mark in "".join(cells)]
            mixed = f"this line uses {' or '.join(others)}" if others else "this line uses another delimiter"
            cause = (
                f"most likely {mixed} where the header uses {DELIMITERS[self.delimiter]} (save the whole file "
                "from your spreadsheet again)"
            )
            if self.delimiter != "\t":
                cause += (
                    f", or a cell holds a {_mark(self.delimiter)} without quotes around it "
                    f'(write it as "Smith{self.delimiter} Jones")'
                )
        raise TableError(f"{found}: {cause}.")


def open_table(
    opener: Opener, *, name: str = "the file", max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES
) -> Table:
    """Read the header of the table `opener()` gives (a binary stream, opened again by each `rows()`), and
    decide its delimiter; raise `TableError` when it is no table: empty, blank, not UTF-8 text, no header,
    duplicate column names."""
    reading = _Reading(opener, name, max_bytes)
    records = reading.records()
    try:
        first = next(records, None)
    finally:
        records.close()
    if first is None or reading.delimiter is None:
        raise TableError(_nothing(name, reading.line_count))
    line, _, cells = first
    delimiter = reading.delimiter
    header = _header([cell.replace("\ufeff", "").strip() for cell in cells], name, line, delimiter)
    return Table(
        opener,
        header=header,
        delimiter=delimiter,
        name=name,
        header_line=line,
        max_rows=max_rows,
        max_bytes=max_bytes,
    )


def table_from_bytes(data: bytes, name: str = "the file", **limits: int) -> Table:
    """A table held in memory (an uploaded file's content)."""
    _check_size(len(data), name, limits.get("max_bytes", MAX_BYTES))
    return open_table(lambda: io.BytesIO(data), name=name, **limits)


def table_from_text(text: str, name: str = "the pasted table", **limits: int) -> Table:
    """A table pasted in a Slack text box: tab-separated when copied from a spreadsheet, or comma-separated.
    A code block's fence around it (```) is dropped."""
    fenced = _FENCE.fullmatch(text)
    if fenced:
        text = fenced.group(1)
    return table_from_bytes(text.encode("utf-8", "surrogatepass"), name, **limits)


def table_from_path(path: str | os.PathLike[str], name: str | None = None, **limits: int) -> Table:
    """A table in a file (named by its file name in messages)."""
    where = Path(path)
    label = name or where.name
    try:
        size = where.stat().st_size
    except OSError as error:
        raise TableError(f"Cannot open {label}: {error.strerror or error}.") from None
    _check_size(size, label, limits.get("max_bytes", MAX_BYTES))
    return open_table(lambda: where.open("rb"), name=label, **limits)


_FENCE = re.compile(r"\s*```[^\S\n]*\n?(.*?)\n?```\s*", re.DOTALL)


# ---- reading ----


class _TooBig(Exception):
    pass


class _Limited(io.RawIOBase):
    """A binary stream that stops with `_TooBig` once more than `limit` bytes were read from it."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        super().__init__()
        self._stream = stream
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer)) or b""
        size = len(data)
        buffer[:size] = data
        self.count += size
        if self.count > self._limit:
            raise _TooBig
        return size

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class _Lines:
    """The text lines of a stream, counted, each checked to be text: no NUL, nothing that was not UTF-8."""

    def __init__(self, text: io.TextIOWrapper, name: str) -> None:
        self._text = text
        self._name = name
        self.number = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._text.readline()
        if not line:
            raise StopIteration
        self.number += 1
        if _NOT_TEXT.search(line) or (self.number == 1 and _bytes(line).startswith(_WORKBOOKS)):
            raise TableError(_not_text(line, self.number, self._name))
        return line


# The first bytes of a zip file (.xlsx, .ods) and of an old Excel workbook (.xls), as decoded.
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# NUL, and the bytes that were not UTF-8 (decoded with `surrogateescape` so that the line is known).
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")


# What a line before the header may hold and still be blank: a spreadsheet's empty rows (`,,,`).
_FILLER = ' \t\r\n,;"'
_SEP_HINT = re.compile(r"sep=([,;\t])", re.IGNORECASE)


class _Reading:
    """One pass over the source: its non-blank records, each with its first and last line and its stripped
    cells. The delimiter is the one given, or (on the first pass) decided from the header line."""

    def __init__(self, opener: Opener, name: str, max_bytes: int, delimiter: str | None = None) -> None:
        self._opener = opener
        self._name = name
        self._max_bytes = max_bytes
        self.delimiter = delimiter
        self._lines: _Lines | None = None

    @property
    def line_count(self) -> int:
        """The lines read so far."""
        return self._lines.number if self._lines is not None else 0

    def records(self) -> Iterator[tuple[int, int, list[str]]]:
        name = self._name
        try:
            stream = self._opener()
        except OSError as error:
            raise TableError(f"Cannot open {name}: {error.strerror or error}.") from None
        text = io.TextIOWrapper(
            io.BufferedReader(_Limited(stream, self._max_bytes)),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        lines = self._lines = _Lines(text, name)
        try:
            with text:
                head = next((line for line in lines if line.strip(_FILLER)), None)
                hint = _SEP_HINT.fullmatch(head.strip()) if head else None
                if hint:  # Excel's `sep=;` line, before the header
                    self.delimiter = self.delimiter or hint.group(1)
                    head = next((line for line in lines if line.strip(_FILLER)), None)
                if head is None:
                    return
                if self.delimiter is None:
                    self.delimiter = _delimiter_of(head)
                reader = csv.reader(
                    itertools.chain([head], lines), delimiter=self.delimiter, skipinitialspace=True, strict=True
                )
                before = lines.number - 1  # the blank lines before the header are read already
                while True:
                    try:
                        cells = next(reader, None)
                    except csv.Error as error:
                        raise TableError(_malformed(name, before + 1, lines.number, str(error))) from None
                    if cells is None:
                        return
                    start, before = before + 1, lines.number
                    clean = [cell.strip() for cell in cells]
                    if any(clean):
                        yield start, lines.number, clean
        except _TooBig:
            past = f" (it goes on past line {lines.number})" if lines.number else ""
            raise TableError(
                f"{_cap(name)} is over {_size(self._max_bytes)}{past}, the limit. Split it into smaller files, or "
                "leave out the columns the import does not use."
            ) from None


def _delimiter_of(line: str) -> str:
    """Tab if the header has one, else semicolon if it has more of them than commas, else comma (outside quotes)."""
    outside = "".join(part for index, part in enumerate(line.split('"')) if index % 2 == 0)
    if "\t" in outside:
        return "\t"
    if outside.count(";") > outside.count(","):
        return ";"
    return ","


# ---- what is wrong, said ----


def _nothing(name: str, lines: int) -> str:
    if lines == 0:
        return (
            f"{_cap(name)} is empty: there is no header row and no data. Export the sheet again with its header "
            "row (the column names) first."
        )
    return (
        f"{_cap(name)} has no data: its {_plural(lines, 'line')} are blank or hold only empty cells. Export the "
        "sheet again with its header row (the column names) first, then one row per record."
    )


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_LETTER = re.compile(r"[^\W\d_]")


def _header(cells: list[str], name: str, line: int, delimiter: str) -> tuple[str, ...]:
    """The column names: trailing unnamed columns dropped (their cells must stay empty); refused when the line
    looks like data (an e-mail address in it, or no letter in any cell) or names a column twice."""
    while cells and not cells[-1]:
        cells = cells[:-1]
    example = delimiter.join(["Email", "First Name", "Tags"]).replace("\t", "⇥")
    fix = f"The first row must name the columns, e.g. {example}: add such a row, or export the sheet with its header."
    emails = [cell for cell in cells if _EMAIL.fullmatch(cell)]
    if emails:
        raise TableError(
            f'Line {line} of {name} looks like data, not a header: "{_short(emails[0])}" is an e-mail address, '
            f"not a column name. {fix}"
        )
    if not any(_LETTER.search(cell) for cell in cells):
        shown = ", ".join(f'"{_short(cell)}"' for cell in cells[:3] if cell)
        raise TableError(
            f"Line {line} of {name} looks like data, not a header: none of its cells ({shown}) is a name. {fix}"
        )
    seen: dict[str, list[int]] = {}
    for index, cell in enumerate(cells):
        if cell:
            seen.setdefault(cell.casefold(), []).append(index)
    twice = [columns for columns in seen.values() if len(columns) > 1]
    if twice:
        named = "; ".join(
            f'"{cells[columns[0]]}" in columns ' + _and([_column(index) for index in columns]) for columns in twice
        )
        raise TableError(
            f"The header (line {line} of {name}) names {'a column' if len(twice) == 1 else 'columns'} twice: {named}. "
            "Each column needs its own name: rename or delete the extra ones."
        )
    return tuple(cells)


def _not_text(line: str, number: int, name: str) -> str:
    head = _bytes(line[:8]) if number == 1 else b""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        what = 'is saved as UTF-16 ("Unicode Text"), not UTF-8'
    elif head.startswith(_WORKBOOKS[0]):
        what = "is a workbook (.xlsx, .ods, or a zip file), not a CSV file"
    elif head.startswith(_WORKBOOKS[1]):
        what = "is an old Excel workbook (.xls), not a CSV file"
    elif "\x00" in line:
        what = f"is not a text file: line {number} has NUL bytes in it (a UTF-16 or binary file)"
    else:
        at = _NOT_TEXT.search(line)
        assert at is not None
        byte = ord(line[at.start()]) - 0xDC00
        around = _short(line[max(0, at.start() - 20) : at.start() + 20].replace("\n", " "), 40)
        shown = re.sub("[\udc80-\udcff]", "\ufffd", around)
        what = (
            f'is not UTF-8 text: line {number} has the byte 0x{byte:02X} (near "{shown.strip()}"), most likely '
            'an accented letter saved in another encoding (Excel\'s plain "CSV (Comma delimited)" uses the '
            "computer's own)"
        )
    return f"{_cap(name)} {what}. {SAVE_AS}"


def _bytes(text: str) -> bytes:
    """Text decoded with `surrogateescape`, as the bytes it was."""
    return text.encode("utf-8", "surrogateescape")


def _malformed(name: str, start: int, end: int, detail: str) -> str:
    if "field larger than field limit" in detail:
        return (
            f"The row starting on line {start} of {name} has a cell over {csv.field_size_limit() // 1024:,} KB long "
            f'(to line {end}): most likely a quote (") that is never closed. Close it, or write a quote inside a '
            'quoted cell as two quotes ("").'
        )
    if "unexpected end of data" in detail:
        return (
            f'The row starting on line {start} of {name} has a quote (") that is never closed: everything after it, '
            f"to the end of the file (line {end}), would be one cell. Close the quote, or write a quote inside "
            'a quoted cell as two quotes ("").'
        )
    if start < end:
        return (
            f'The row on lines {start}–{end} of {name} cannot be read as CSV ({detail}): most likely a quote (") '
            f"opened on line {start} is never closed, so the lines after it were read as part of one cell. Close "
            'it, or write a quote inside a quoted cell as two quotes ("").'
        )
    return (
        f"Line {start} of {name} cannot be read as CSV ({detail}): most likely a quoted cell has a quote inside "
        'it that is not doubled, as in "Say "hi"". Write a quote inside a quoted cell as two quotes: '
        '"Say ""hi""".'
    )


def _check_size(size: int, name: str, limit: int) -> None:
    if size > limit:
        raise TableError(
            f"{_cap(name)} is {_size(size)}; the limit is {_size(limit)}. Split it into smaller files, "
            "or leave out the columns the import does not use."
        )


def _size(size: int) -> str:
    """`50 MB`, `1.5 MB`, `300 KB`, `100 bytes`."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}".replace(f".0 {unit}", f" {unit}")
    return _plural(size, "byte")


def _cap(name: str) -> str:
    """A name starting a sentence: "the file" → "The file"; a file's own name stays as it is."""
    return "T" + name[1:] if name.startswith("the ") else name


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _cells(count: int) -> str:
    return _plural(count, "cell")


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mark(delimiter: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon"}[delimiter]


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def column_letter(index: int) -> str:
    """A column's letter as a spreadsheet shows it: 0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column(index: int) -> str:
    return f"{index + 1} ({column_letter(index)})"
