"""`segmetrics-bot import` as people run it: a dry run, a real import against the sandbox over HTTP, the results
file, the exit codes, a re-run that skips what was sent, and every shipped example, in order."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.sandbox import Sandbox
from tests.integration.conftest import ACCOUNT, INTEGRATION
from tests.integration.test_cli import run_cli

EXAMPLES = Path(__file__).parents[2] / "examples" / "import"
# The order a team would run them in: what a later file changes, an earlier one made.
ORDER = [
    "contact-add",
    "tag-add",
    "tag-remove",
    "order-add",
    "order-update",
    "order-refund",
    "subscription-add",
    "subscription-update",
    "subscription-cancel",
    "subscription-end",
    "ad-record",
    "order-delete",
    "subscription-delete",
    "contact-deactivate",
    "contact-delete",
]


def test_every_example_imports_in_order(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    assert sorted(ORDER) == sorted(path.stem for path in EXAMPLES.glob("*.csv"))  # one per operation, none left out
    for stem in ORDER:
        operation = stem.replace("-", " ", 1)
        result = run_cli("import", str(EXAMPLES / f"{stem}.csv"), "--operation", operation, cwd=tmp_path, env=env)
        assert result.returncode == 0, f"{stem}: {result.stderr}"
        assert "Done:" in result.stderr and "failed" not in result.stderr, result.stderr
    paths = [request.path.removeprefix(f"/api/v1/{ACCOUNT}/{INTEGRATION}/") for request in sandbox.requests]
    assert paths.count("contact") == 3 + 1  # three added, one deactivated
    assert "invoice/INV-2001" in paths and "subscription/SUB-3001" in paths
    assert sandbox.tag_names("jane@example.com") == ["VIP", "Webinar 2026", "Attended"]


def test_a_dry_run_sends_nothing_and_says_what_would_go(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    result = run_cli(
        "import", str(EXAMPLES / "contact-add.csv"), "--operation", "contact add", "--dry-run", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "contact-add.csv: 3 rows, each a contact add." in result.stderr
    assert "First Name → first_name" in result.stderr
    assert "Dry run: nothing was sent. 3 of 3 rows can be sent." in result.stderr
    assert sandbox.requests == []


def test_failed_rows_exit_1_and_the_results_file_says_why(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    table = tmp_path / "tags.csv"
    table.write_text("email,tags\njane@example.com,VIP\nnobody@example.com,VIP\nnot-an-email,VIP\n", encoding="utf-8")
    run_cli("exec", "contact add jane@example.com", cwd=tmp_path, env=env)
    out = tmp_path / "results.csv"
    result = run_cli("import", str(table), "--operation", "tag add", "--results", str(out), cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stderr
    assert "Done: 1 of 3 sent, 2 failed." in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(row["line"], row["status"]) for row in rows] == [("2", "done"), ("3", "failed"), ("4", "invalid")]
    assert "contact nobody@example.com not found" in rows[1]["reason"]  # SegMetrics' own reason
    assert "E-mail" in rows[2]["reason"]
    # Run again: what went through is skipped, what failed is tried again.
    again = run_cli("import", str(table), "--operation", "tag add", cwd=tmp_path, env=env)
    assert "1 rows were sent by an earlier import: they are skipped" in again.stderr
    tagged = [request.json["email"] for request in sandbox.requests if request.path.endswith("tags/add")]
    assert sorted(tagged) == ["jane@example.com", "nobody@example.com", "nobody@example.com"]  # rows go in parallel


@pytest.mark.parametrize(
    ("content", "arguments", "said"),
    [
        (b"", ("--operation", "contact add"), "is empty"),
        (b"email\njane@example.com\n", ("--operation", "contact show"), "is not an operation a file can import"),
        (b"email\njane@example.com\n", ("--operation", "contact add", "--map", "Email"), "--map"),
        (b"who,what\na,b\n", ("--operation", "contact add"), "None of the columns"),
        (b"\x00\x01\x02binary", ("--operation", "contact add"), "not a text file"),
        (b"email\njane@example.com\n", ("--operation", "contact add", "--via", "ads"), "no connection named `ads`"),
    ],
    ids=["empty", "a read", "bad map", "no known column", "binary", "unknown connection"],
)
def test_file_and_usage_problems_exit_2_and_send_nothing(
    tmp_path: Path, live: tuple[Sandbox, dict[str, str]], content: bytes, arguments: tuple[str, ...], said: str
) -> None:
    sandbox, env = live
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    result = run_cli("import", str(path), *arguments, cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stderr
    assert said in result.stderr
    assert sandbox.requests == []


def test_a_rerun_read_differently_is_not_skipped(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    # The same cells read in another zone send other dates: not "already sent".
    sandbox, env = live
    table = tmp_path / "contacts.csv"
    table.write_text("email,created\njane@example.com,2026-11-20 10:00\n", encoding="utf-8")
    first = run_cli(
        "import", str(table), "--operation", "contact add", "--tz", "America/New_York", cwd=tmp_path, env=env
    )
    assert first.returncode == 0, first.stderr
    same = run_cli(
        "import", str(table), "--operation", "contact add", "--tz", "America/New_York", cwd=tmp_path, env=env
    )
    assert "1 rows were sent by an earlier import: they are skipped" in same.stderr
    elsewhere = run_cli("import", str(table), "--operation", "contact add", "--tz", "Asia/Tokyo", cwd=tmp_path, env=env)
    assert elsewhere.returncode == 0 and "skipped" not in elsewhere.stderr
    dates = [request.json["date_created"] for request in sandbox.requests if request.path.endswith("/contact")]
    assert dates == ["2026-11-20 15:00:00", "2026-11-20 01:00:00"]


def test_changes_of_one_record_in_one_file_follow_each_other(
    tmp_path: Path, live: tuple[Sandbox, dict[str, str]]
) -> None:
    # Two partial refunds of one order: the second is read against the first's result, as typed one by one.
    sandbox, env = live
    run_cli("import", str(EXAMPLES / "contact-add.csv"), "--operation", "contact add", cwd=tmp_path, env=env)
    run_cli("import", str(EXAMPLES / "order-add.csv"), "--operation", "order add", cwd=tmp_path, env=env)
    refunds = tmp_path / "refunds.csv"
    refunds.write_text("Order ID,Amount\nINV-2002,20.00\nINV-2002,10.00\n", encoding="utf-8")
    result = run_cli("import", str(refunds), "--operation", "order refund", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    paid = [request.json["paid"] for request in sandbox.requests if request.path.endswith("/invoice")]
    assert paid[-2:] == [12960 - 2000, 12960 - 3000]


def test_an_unwritable_results_file_is_refused_before_anything_is_sent(
    tmp_path: Path, live: tuple[Sandbox, dict[str, str]]
) -> None:
    sandbox, env = live
    result = run_cli(
        "import", str(EXAMPLES / "contact-add.csv"), "--operation", "contact add", "--results",
        str(tmp_path / "no-such-folder" / "out.csv"), cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 2 and "cannot write there" in result.stderr
    assert sandbox.requests == []
