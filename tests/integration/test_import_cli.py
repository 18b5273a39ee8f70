"""`segmetrics-bot import` as people run it: a dry run, a real import against the sandbox over HTTP, the results
file, the exit codes, a re-run that skips what was sent, and every shipped example, in order."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bot.sandbox import Sandbox, SandboxServer
from tests.integration.conftest import ACCOUNT, API_KEY, INTEGRATION
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


@pytest.fixture
def live(tmp_path: Path) -> tuple[Sandbox, dict[str, str]]:
    sandbox = Sandbox(api_key=API_KEY, account_id=ACCOUNT, integration_id=INTEGRATION)
    server = SandboxServer(sandbox)
    server.__enter__()
    env = {
        "SEGMETRICS_API_KEY": API_KEY,
        "SEGMETRICS_ACCOUNT_ID": ACCOUNT,
        "SEGMETRICS_INTEGRATION_ID": INTEGRATION,
        "SEGMETRICS_IMPORT_URL": server.import_url,
        "SEGMETRICS_REPORTING_URL": server.reporting_url,
        "SEGMETRICS_BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.db",
    }
    yield sandbox, env  # type: ignore[misc]
    server.__exit__(None, None, None)


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
    assert [request.json["email"] for request in sandbox.requests if request.path.endswith("tags/add")] == [
        "jane@example.com",
        "nobody@example.com",
        "nobody@example.com",
    ]


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
