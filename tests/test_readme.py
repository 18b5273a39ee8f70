"""The README is what a newcomer trusts: its commands, snippet, examples, settings and keys must hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.changes import apply
from bot.chat import parse_command
from bot.context import Context
from bot.settings import Settings
from commands import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
START_COMMAND = "pip install -e . && segmetrics-bot run"
TEST_COMMAND = "pip install -e '.[test]' && pytest"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_the_two_newcomer_commands_are_there_and_ci_runs_the_test_one() -> None:
    assert START_COMMAND in README
    assert TEST_COMMAND in README
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text()


def test_the_python_snippet_runs_against_the_sandbox(tmp_path: Path) -> None:
    snippet = blocks("python")[0]
    env = {key: value for key, value in os.environ.items() if not key.startswith("SEGMETRICS_")}
    result = subprocess.run(
        [sys.executable, "-c", snippet], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("saved order INV-1001 for jane@example.com")
    assert "Order total      $49.99" in result.stdout
    assert result.stdout.strip().endswith("POST invoice 4999")


EXAMPLES = [
    line
    for line in re.search(r"Examples:\n\n```\n(.*?)```", README, re.DOTALL).group(1).splitlines()
    if line  # type: ignore[union-attr]
]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_readme_example_is_valid(example: str, ctx: Context) -> None:
    parsed = parse_command(example, REGISTRY)
    op = parsed.operation
    data = op.validate(parsed.raw, ctx)
    if op.changes is not None:
        # A change changes the record its upsert's first example in this list made.
        made = parse_command(next(line for line in EXAMPLES if line.startswith(op.changes.name)), REGISTRY)
        known = op.changes.request(op.changes.validate(made.raw, ctx), ctx).json
        data = apply(op, data, known, ctx, REGISTRY.editor(op.changes))
    op.request(data, ctx)


def test_every_operation_has_an_example_in_the_readme() -> None:
    for op in REGISTRY:
        assert any(parse_command(example, REGISTRY).operation is op for example in EXAMPLES), op.name


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in README, name


def test_every_key_is_documented() -> None:
    for op in REGISTRY:
        for spec in op.params:
            if spec.prefix:
                assert f"{spec.prefix}.<name>" in README
            else:
                assert spec.name in README, f"{op.name}: {spec.name}"


DATE_EXAMPLES = [line for line in blocks("dates")[0].splitlines() if line]


@pytest.mark.parametrize("phrase", DATE_EXAMPLES)
def test_every_date_the_readme_says_is_understood_is(phrase: str) -> None:
    from bot.dates import DateReader
    from bot.problems import InvalidValue
    from tests.conftest import NEW_YORK, NOW

    reader = DateReader()
    readings = []
    for prefer in ("past", "future"):
        try:
            readings.append(reader.read(phrase, zone=NEW_YORK, now=NOW, prefer=prefer, locale="en-US"))
        except InvalidValue:
            continue
    assert readings, f"{phrase!r} is refused in both kinds of field"
