"""Reading spreadsheets as people export them: line numbers right, bad files refused with a way out, and rows
streamed without loading the file."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.bulk.table import (
    MAX_BYTES,
    MAX_ROWS,
    Row,
    Table,
    TableError,
    column_letter,
    open_table,
    table_from_bytes,
    table_from_path,
    table_from_text,
)

BOM = b"\xef\xbb\xbf"


def refusal(data: bytes | str, **limits: int) -> str:
    """The message of the `TableError` reading the whole of `data` raises."""
    with pytest.raises(TableError) as caught:
        table = table_from_text(data, **limits) if isinstance(data, str) else table_from_bytes(data, **limits)
        table.count_rows()
    return str(caught.value)


def lines_and_values(table: Table) -> list[tuple[int, tuple[str, ...]]]:
    return [(row.line, row.values) for row in table.rows()]


# ---- as exported ----


def test_an_excel_csv_utf8_export_bom_crlf_quoted_commas_and_line_breaks() -> None:
    # Excel's "CSV UTF-8 (Comma delimited)": a BOM, CRLF rows, a cell with Alt+Enter line breaks is quoted
    # and keeps a bare LF inside.
    data = BOM + (
        b"Email,First Name,Last Name,Tags,Notes\r\n"
        b'jane@example.com,Jane,Doe,"VIP, Webinar 2026","Called twice.\nWants a demo\nin March"\r\n'
        b"sam@example.com,Sam,O'Neil,Trial,\r\n"
        b'ana@example.com,Ana,"D""Souza",,"Prefers ""Ana"""\r\n'
    )
    table = table_from_bytes(data, name="contacts.csv")
    assert table.header == ("Email", "First Name", "Last Name", "Tags", "Notes")
    assert table.delimiter == ","
    assert table.name == "contacts.csv"
    assert lines_and_values(table) == [
        (2, ("jane@example.com", "Jane", "Doe", "VIP, Webinar 2026", "Called twice.\nWants a demo\nin March")),
        (5, ("sam@example.com", "Sam", "O'Neil", "Trial", "")),
        (6, ("ana@example.com", "Ana", 'D"Souza', "", 'Prefers "Ana"')),
    ]
    assert table.count_rows() == 3


def test_a_google_sheets_download() -> None:
    data = (
        b"Contact ID,Email,Status,Created\r\n"
        b"10001,lee@example.com,active,2026-01-15 09:30\r\n"
        b"10002,,inactive,2026-02-01\r\n"
        b'10003,kim@example.com,active,"Jan 3, 2026"\r\n'
    )
    table = table_from_bytes(data)
    assert lines_and_values(table) == [
        (2, ("10001", "lee@example.com", "active", "2026-01-15 09:30")),
        (3, ("10002", "", "inactive", "2026-02-01")),
        (4, ("10003", "kim@example.com", "active", "Jan 3, 2026")),
    ]


def test_a_webinar_attendee_export_quoted_throughout_with_blank_lines_and_spaces() -> None:
    data = (
        b'"First Name","Last Name","Email","Registered At"\n'
        b'"Priya","Shah","priya@example.com","2026-11-02 18:04:11"\n'
        b"\n"
        b'" Tom ","Baker ","  tom@example.com","2026-11-02 18:05:40"\n'
        b'"","","",""\n'
        b'"Mia","Chen","mia@example.com","2026-11-03 08:00:00"\n'
        b"\n"
    )
    table = table_from_bytes(data, name="attendees.csv")
    assert table.header == ("First Name", "Last Name", "Email", "Registered At")
    assert lines_and_values(table) == [
        (2, ("Priya", "Shah", "priya@example.com", "2026-11-02 18:04:11")),
        (4, ("Tom", "Baker", "tom@example.com", "2026-11-02 18:05:40")),
        (6, ("Mia", "Chen", "mia@example.com", "2026-11-03 08:00:00")),
    ]


def test_a_facebook_ads_export_with_bom_and_unnamed_trailing_columns() -> None:
    data = BOM + (
        b"Reporting starts,Reporting ends,Ad name,Ad ID,Day,Amount spent (USD),Impressions,Clicks (all),,\n"
        b'2026-11-01,2026-11-30,"Video 2 - Lookalike, US",120210000000001,2026-11-20,120.50,"12,004",431,,\n'
        b"2026-11-01,2026-11-30,Carousel,120210000000002,2026-11-20,80,5003,97,,\n"
    )
    table = table_from_bytes(data)
    assert table.header == (
        "Reporting starts",
        "Reporting ends",
        "Ad name",
        "Ad ID",
        "Day",
        "Amount spent (USD)",
        "Impressions",
        "Clicks (all)",
    )
    rows = list(table.rows())
    assert rows[0] == Row(
        2,
        (
            "2026-11-01",
            "2026-11-30",
            "Video 2 - Lookalike, US",
            "120210000000001",
            "2026-11-20",
            "120.50",
            "12,004",
            "431",
        ),
    )
    assert rows[1].line == 3 and len(rows[1].values) == 8


def test_a_table_pasted_from_google_sheets_is_tab_separated() -> None:
    # Copied cells arrive as tabs; commas inside cells need no quotes.
    text = "Email\tTags\tPlan\njane@example.com\tVIP, Webinar 2026\tPro\nsam@example.com\tTrial\t\n"
    table = table_from_text(text)
    assert table.delimiter == "\t"
    assert table.name == "the pasted table"
    assert lines_and_values(table) == [
        (2, ("jane@example.com", "VIP, Webinar 2026", "Pro")),
        (3, ("sam@example.com", "Trial", "")),
    ]


def test_a_pasted_table_in_a_code_block_or_with_commas() -> None:
    text = "```\nEmail,First Name\njane@example.com,Jane\n```"
    table = table_from_text(text)
    assert table.delimiter == ","
    assert lines_and_values(table) == [(2, ("jane@example.com", "Jane"))]


def test_a_semicolon_csv_from_a_european_excel() -> None:
    text = "E-Mail;Vorname;Nachname;Betrag\r\nlena@example.de;Lena;Müller;49,99\r\njo@example.de;Jo;Groß;\r\n"
    table = table_from_bytes(BOM + text.encode())
    assert table.delimiter == ";"
    assert table.header == ("E-Mail", "Vorname", "Nachname", "Betrag")
    assert lines_and_values(table) == [
        (2, ("lena@example.de", "Lena", "Müller", "49,99")),
        (3, ("jo@example.de", "Jo", "Groß", "")),
    ]


def test_excels_sep_line_names_the_delimiter() -> None:
    table = table_from_bytes(b"sep=;\r\nEmail;Tags\r\njane@example.com;VIP,Trial\r\n")
    assert table.delimiter == ";"
    assert table.header == ("Email", "Tags")
    assert lines_and_values(table) == [(3, ("jane@example.com", "VIP,Trial"))]


def test_old_mac_line_endings() -> None:
    table = table_from_bytes(b"Email,First Name\rjane@example.com,Jane\rsam@example.com,Sam\r")
    assert lines_and_values(table) == [(2, ("jane@example.com", "Jane")), (3, ("sam@example.com", "Sam"))]


def test_blank_lines_and_empty_rows_before_the_header_keep_the_file_line_numbers() -> None:
    table = table_from_bytes(b"\n,,\n\nEmail,Tags\n\njane@example.com,VIP\n")
    assert table.header == ("Email", "Tags")
    assert lines_and_values(table) == [(6, ("jane@example.com", "VIP"))]


def test_a_header_without_data_has_no_rows() -> None:
    table = table_from_bytes(b"Email,Tags\r\n")
    assert list(table.rows()) == []
    assert table.count_rows() == 0


def test_a_single_column() -> None:
    table = table_from_bytes(b"Email\njane@example.com\nsam@example.com\n")
    assert table.delimiter == ","
    assert lines_and_values(table) == [(2, ("jane@example.com",)), (3, ("sam@example.com",))]


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        (b"Email\tTags, or labels\tPlan", "\t"),  # tabs and commas: the tab decides
        (b"Email;First;Tags", ";"),
        (b"Email,First;Last,Tags", ","),  # one semicolon, two commas
        (b'"Email;Address",Tags', ","),  # inside quotes does not count
        (b"Email", ","),
    ],
)
def test_the_delimiter_is_decided_by_the_header(header: bytes, delimiter: str) -> None:
    assert table_from_bytes(header + b"\n").delimiter == delimiter


def test_trailing_empty_cells_beyond_the_header_are_tolerated() -> None:
    table = table_from_bytes(b"Email,Tags\njane@example.com,VIP,,,\nsam@example.com,Trial,\n")
    assert lines_and_values(table) == [(2, ("jane@example.com", "VIP")), (3, ("sam@example.com", "Trial"))]


def test_an_unnamed_column_in_the_middle_is_kept_with_an_empty_name() -> None:
    table = table_from_bytes(b"Email,,Tags\njane@example.com,x,VIP\n")
    assert table.header == ("Email", "", "Tags")
    assert lines_and_values(table) == [(2, ("jane@example.com", "x", "VIP"))]


def test_a_stray_quote_inside_an_unquoted_cell_is_a_character() -> None:
    table = table_from_bytes(b'Email,Product\njane@example.com,27" monitor\n')
    assert lines_and_values(table) == [(2, ("jane@example.com", '27" monitor'))]


def test_table_from_path_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "webinar-2026.csv"
    path.write_bytes(b"Email,First Name\r\njane@example.com,Jane\r\n")
    table = table_from_path(path)
    assert table.name == "webinar-2026.csv"
    assert lines_and_values(table) == [(2, ("jane@example.com", "Jane"))]


def test_column_letters() -> None:
    assert [column_letter(index) for index in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


# ---- refused, saying where and what works ----


def test_an_empty_file() -> None:
    assert refusal(b"") == (
        "The file is empty: there is no header row and no data. Export the sheet again with its header row "
        "(the column names) first."
    )
    assert refusal(BOM).startswith("The file is empty")


def test_only_blank_lines_or_empty_cells() -> None:
    message = refusal(b"\r\n\r\n  \r\n,,,\r\n")
    assert message.startswith("The file has no data: its 4 lines are blank or hold only empty cells.")


def test_a_first_row_with_an_email_is_data_not_a_header() -> None:
    message = refusal(b"\njane@example.com,Jane,Doe\nsam@example.com,Sam,Lee\n")
    assert message == (
        'Line 2 of the file looks like data, not a header: "jane@example.com" is an e-mail address, not a column '
        "name. The first row must name the columns, e.g. Email,First Name,Tags: add such a row, or export the "
        "sheet with its header."
    )


def test_a_first_row_of_numbers_and_dates_is_data_not_a_header() -> None:
    message = refusal("10001;2026-01-15;49,99\n10002;2026-01-16;10\n")
    assert message.startswith('Line 1 of the pasted table looks like data, not a header: none of its cells ("10001"')
    assert "e.g. Email;First Name;Tags" in message


def test_duplicate_header_names_are_named_with_their_columns() -> None:
    message = refusal(b"Email,Tags,email,Notes,Tags,Notes\n")
    assert message == (
        'The header (line 1 of the file) names columns twice: "Email" in columns 1 (A) and 3 (C); "Tags" in '
        'columns 2 (B) and 5 (E); "Notes" in columns 4 (D) and 6 (F). Each column needs its own name: rename or '
        "delete the extra ones."
    )


def test_a_file_that_is_not_utf8_says_which_line_and_how_to_save_it() -> None:
    # European Excel's plain "CSV (Trennzeichen-getrennt)": Windows-1252.
    data = "E-Mail;Vorname\r\nlena@example.de;Lena\r\nmax@example.de;Jürgen\r\n".encode("cp1252")
    message = refusal(data)
    assert message.startswith('The file is not UTF-8 text: line 3 has the byte 0xFC (near "max@example.de;J�rgen")')
    assert 'Save it as "CSV UTF-8 (Comma delimited)"' in message


def test_a_utf16_unicode_text_export() -> None:
    data = "Email\tTags\r\njane@example.com\tVIP\r\n".encode("utf-16")
    assert refusal(data).startswith('The file is saved as UTF-16 ("Unicode Text"), not UTF-8. Save it as "CSV UTF-8')


def test_nul_bytes() -> None:
    message = refusal(b"Email,Tags\njane@example.com,VIP\nsam@example.com,\x00\x00\n")
    assert message.startswith("The file is not a text file: line 3 has NUL bytes in it")


def test_a_workbook_instead_of_a_csv() -> None:
    assert refusal(b"PK\x03\x04\x14\x00\x06\x00").startswith("The file is a workbook (.xlsx, .ods, or a zip file)")
    assert refusal(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1").startswith("The file is an old Excel workbook (.xls)")


def test_a_row_with_another_delimiter() -> None:
    data = b"Email,First Name,Tags\njane@example.com,Jane,VIP\nsam@example.com;Sam;Trial\n"
    assert refusal(data) == (
        "Line 3 of the file has 1 cell but the header (line 1) has 3: most likely this line uses semicolons where "
        "the header uses commas (save the whole file from your spreadsheet again), or a cell holds a comma without "
        'quotes around it (write it as "Smith, Jones").'
    )


def test_a_row_with_an_unquoted_comma() -> None:
    data = b"Email,Name,Tags\njane@example.com,Jane,VIP\nsam@example.com,Lee, Sam,Trial\n"
    assert refusal(data).startswith(
        'Line 3 of the file has 4 cells but the header (line 1) has 3 (beyond the last named column: "Trial"): '
        "most likely this line uses another delimiter where the header uses commas"
    )


def test_a_short_row_in_a_pasted_tab_table() -> None:
    message = refusal("Email\tFirst Name\tTags\njane@example.com\tJane\tVIP\nsam@example.com,Sam,Trial\n")
    assert message == (
        "Line 3 of the pasted table has 1 cell but the header (line 1) has 3: most likely this line uses commas "
        "where the header uses tabs (save the whole file from your spreadsheet again)."
    )


def test_an_unclosed_quote_running_to_the_end_of_the_file() -> None:
    data = b'Email,Notes\njane@example.com,ok\nsam@example.com,"Wants a demo\nlee@example.com,fine\n'
    assert refusal(data) == (
        'The row starting on line 3 of the file has a quote (") that is never closed: everything after it, to the '
        "end of the file (line 4), would be one cell. Close the quote, or write a quote inside a quoted cell as "
        'two quotes ("").'
    )


def test_an_unclosed_quote_that_swallows_lines_until_another_quote() -> None:
    data = b'Email,Notes\nsam@example.com,"Wants a demo\nlee@example.com,fine\nkim@example.com,"ok"\n'
    assert refusal(data).startswith(
        "The row on lines 2–4 of the file cannot be read as CSV (',' expected after '\"'): most likely a quote "
        '(") opened on line 2 is never closed'
    )


def test_an_unclosed_quote_that_makes_a_row_of_the_wrong_width() -> None:
    data = b'Email,Notes,Tags\nsam@example.com,"Wants a demo\nlee@example.com,fine",VIP,extra\n'
    assert refusal(data).startswith(
        "The row on lines 2–3 of the file has 4 cells but the header (line 1) has 3 (beyond the last named column: "
        '"extra"): most likely a quote (") opened on line 2 is never closed'
    )


def test_a_quote_inside_a_quoted_cell_not_doubled() -> None:
    data = b'Email,Notes\njane@example.com,"She said "yes" twice"\n'
    assert refusal(data).startswith(
        "Line 2 of the file cannot be read as CSV (',' expected after '\"'): most likely a quoted cell has a quote "
        "inside it that is not doubled"
    )


def test_too_many_rows_is_refused_when_reached() -> None:
    data = b"Email\n" + b"x@example.com\n" * 12
    table = table_from_bytes(data, max_rows=10)
    seen = []
    with pytest.raises(TableError) as caught:
        seen.extend(row.line for row in table.rows())
    assert seen == list(range(2, 12))  # ten rows given before the refusal
    assert str(caught.value) == (
        "The file has more than 10 rows (line 12 is row 11); the limit is 10 rows per import. Split it into files "
        "of at most 10 rows and import them one after the other."
    )


def test_the_documented_row_limit() -> None:
    assert MAX_ROWS == 200_000
    table = table_from_bytes(b"Email\n" + b"x\n" * MAX_ROWS)
    assert table.count_rows() == MAX_ROWS
    over = table_from_bytes(b"Email\n" + b"x\n" * (MAX_ROWS + 1))
    with pytest.raises(TableError, match=r"more than 200,000 rows \(line 200002 is row 200,001\)"):
        over.count_rows()


def test_too_many_bytes() -> None:
    assert MAX_BYTES == 50 * 1024 * 1024
    data = b"Email\n" + b"someone@example.com\n" * 100
    assert refusal(data, max_bytes=1000) == (
        "The file is 2 KB; the limit is 1,000 bytes. Split it into smaller files, or leave out the columns the "
        "import does not use."
    )
    # A stream of unknown size is stopped while it is read.
    table = open_table(lambda: io.BytesIO(data), max_bytes=20_000)
    assert table.count_rows() == 100
    streamed = open_table(lambda: io.BytesIO(data * 10), max_bytes=20_000)
    with pytest.raises(TableError, match=r"^The file is over 19.5 KB \(it goes on past line \d+\), the limit\."):
        streamed.count_rows()


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(TableError, match=r"^huge.csv is 50 MB; the limit is 50 MB\."):
        table_from_path(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TableError, match=r"^Cannot open gone.csv: No such file or directory\.$"):
        table_from_path(tmp_path / "gone.csv")


# ---- streamed ----


class GeneratedCsv(io.RawIOBase):
    """A CSV made row by row as it is read: `rows` rows, never all in memory."""

    def __init__(self, rows: int) -> None:
        self._chunks = self._generate(rows)
        self._pending = memoryview(b"")
        self.bytes_read = 0
        self.closed_by_reader = False

    @staticmethod
    def _generate(rows: int) -> Iterator[bytes]:
        yield BOM + b"Email,Name,Tags\r\n"
        for number in range(rows):
            yield f'person{number}@example.com,"Doe, {number}",VIP\r\n'.encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        return size

    def close(self) -> None:
        self.closed_by_reader = True
        super().close()


def test_rows_are_streamed_with_flat_memory() -> None:
    rows = 100_000
    opened: list[GeneratedCsv] = []

    def opener() -> GeneratedCsv:
        opened.append(GeneratedCsv(rows))
        return opened[-1]

    table = open_table(opener, name="big.csv")
    assert table.header == ("Email", "Name", "Tags")
    assert opened[0].bytes_read < 64 * 1024  # only the header was read
    assert opened[0].closed_by_reader

    tracemalloc.start()
    try:
        count = 0
        last = None
        for row in table.rows():
            count += 1
            last = row
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows
    assert last == Row(rows + 1, (f"person{rows - 1}@example.com", f"Doe, {rows - 1}", "VIP"))
    assert opened[1].bytes_read > 4_000_000  # the whole file went through…
    assert peak < 2 * 1024 * 1024  # …in a few chunks at a time
    assert opened[1].closed_by_reader


def test_rows_can_be_read_again_from_the_start() -> None:
    opened = []

    def opener() -> io.BytesIO:
        opened.append(1)
        return io.BytesIO(b"Email,Tags\njane@example.com,VIP\nsam@example.com,Trial\n")

    table = open_table(opener)
    first = list(table.rows())
    second = list(table.rows())
    assert first == second == [Row(2, ("jane@example.com", "VIP")), Row(3, ("sam@example.com", "Trial"))]
    assert len(opened) == 3  # the header, then once per reading


def test_count_rows_finds_a_problem_at_the_end_before_anything_is_used() -> None:
    data = b"Email,Tags\n" + b"jane@example.com,VIP\n" * 500 + b"sam@example.com;Trial\n"
    table = table_from_bytes(data)
    with pytest.raises(TableError, match=r"^Line 502 of the file has 1 cell"):
        table.count_rows()


def test_an_unclosed_quote_swallowing_more_than_a_cell_can_hold() -> None:
    data = b'Email,Notes\njane@example.com,"Wants a demo\n' + b"lee@example.com,fine\n" * 10_000 + b'kim,"x"\n'
    assert refusal(data) == (
        "The row starting on line 2 of the file has a cell over 128 KB long (to line 6243): most likely a quote "
        '(") that is never closed. Close it, or write a quote inside a quoted cell as two quotes ("").'
    )
