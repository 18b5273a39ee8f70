"""The terminal as safe as Slack: audited, asking before deleting, under the policy; piped commands; and the
shell as a person uses it, through a pseudo-terminal (history, Ctrl-C, a delete's question, Ctrl-D)."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import pty
import select
import sys
import time
from pathlib import Path

from bot.sandbox import Sandbox
from tests.integration.conftest import ACCOUNT, INTEGRATION
from tests.integration.test_cli import run_cli

WHO = f"terminal:{getpass.getuser()}"


def writes(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request in sandbox.requests if request.method != "GET"]


def test_what_the_terminal_does_is_in_the_audit_trail(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    _sandbox, env = live
    assert run_cli("exec", "contact add jane@example.com", cwd=tmp_path, env=env).returncode == 0
    assert run_cli("exec", "tag add nobody@example.com VIP", cwd=tmp_path, env=env).returncode == 1
    listed = run_cli("audit", "--surface", "terminal", "--format", "json", cwd=tmp_path, env=env)
    rows = json.loads(listed.stdout)
    assert [(row["operation"], row["outcome"], row["user_id"]) for row in rows] == [
        ("contact add", "succeeded", WHO),
        ("tag add", "failed", WHO),
    ]
    assert rows[0]["request"]["json"] == {"email": "jane@example.com"} and rows[0]["surface"] == "terminal"
    assert json.loads(run_cli("audit", "--surface", "slack", "--format", "json", cwd=tmp_path, env=env).stdout) == []


def test_a_delete_asks_first_and_a_script_says_yes(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    run_cli("exec", "contact add jane@example.com first=Jane", cwd=tmp_path, env=env)
    refused = run_cli("exec", "contact delete jane@example.com", cwd=tmp_path, env=env)
    assert refused.returncode == 1 and "asks first" in refused.stderr and "--yes" in refused.stderr
    assert writes(sandbox) == [("POST", f"/api/v1/{ACCOUNT}/{INTEGRATION}/contact")]
    done = run_cli("exec", "contact delete jane@example.com", "--yes", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert writes(sandbox)[-1] == ("DELETE", f"/api/v1/{ACCOUNT}/{INTEGRATION}/contact/jane@example.com")


def test_the_policy_applies_to_the_terminal(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    call = 'api POST contact {"email": "a@b.co"}'
    off = run_cli("exec", call, cwd=tmp_path, env=env)
    assert off.returncode == 1 and "disabled until SEGMETRICS_BOT_ADMINS names at least one admin" in off.stderr
    assert sandbox.requests == []
    on = run_cli("exec", call, cwd=tmp_path, env={**env, "SEGMETRICS_BOT_ADMINS": "U0ADMIN1"})
    assert on.returncode == 0, on.stderr  # with admins, whoever holds the bot's credentials is one
    policy = tmp_path / "policy.toml"
    policy.write_text('[operations."contact add"]\nallow = ["U0SOMEONE"]\n', encoding="utf-8")
    named = run_cli("exec", "contact add a@b.co", cwd=tmp_path, env={**env, "SEGMETRICS_BOT_POLICY": str(policy)})
    assert named.returncode == 1 and "is not open to you" in named.stderr


def test_piped_commands_run_one_a_line(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    script = "contact add jane@example.com\n# a comment\ntag add jane@example.com VIP\ntag add jane@example.com\n"
    done = run_cli("shell", cwd=tmp_path, env=env, input=script)
    assert done.returncode == 1  # a line failed
    assert "segmetrics>" not in done.stdout + done.stderr  # no prompt when nobody types
    assert "line 4: ✗" in done.stderr and "line 1" not in done.stderr
    assert done.stdout.count("✓ ") == 2
    assert sandbox.tag_names("jane@example.com") == ["VIP"]


class Terminal:
    """The shell in a pseudo-terminal, as a person sees and types it."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        clean = {key: value for key, value in os.environ.items() if not key.startswith("SEGMETRICS_")}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the shell
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "bot", "shell"], {**clean, **env, "TERM": "dumb"})
        self.seen = ""

    def expect(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{self.seen}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                try:
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
                except OSError:
                    break
        found = self.seen
        self.seen = self.seen[self.seen.index(text) + len(text) :]
        return found

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def exit_code(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with_status = os.waitpid(self.pid, os.WNOHANG)
            if with_status[0]:
                return os.waitstatus_to_exitcode(with_status[1])
            with_ready = select.select([self.fd], [], [], 0.1)[0]
            if with_ready:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
        raise AssertionError("the shell did not exit")


def test_the_shell_in_a_terminal(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    shell = Terminal(tmp_path, env)
    shell.expect("segmetrics> ")
    shell.type("contact add jane@example.com\r")
    shell.expect("saved contact jane@example.com")  # bold on a terminal
    shell.expect("segmetrics> ")
    shell.type("\x1b[A")  # up arrow: the last line again, to edit
    shell.expect("contact add jane@example.com")
    shell.type("\x03")  # Ctrl-C: the line is dropped, the prompt comes back
    shell.expect("^C")
    shell.expect("segmetrics> ")
    shell.type("contact delete jane@example.com\r")
    shell.expect("[y/N] ")
    shell.type("n\r")
    shell.expect("Nothing was sent.")
    shell.expect("segmetrics> ")
    shell.type("subscr\t")  # Tab: the resource, completed
    shell.expect("subscription")
    shell.type("\x15")  # Ctrl-U: the line cleared
    shell.type("\x04")  # Ctrl-D: leave
    assert shell.exit_code() == 0
    assert writes(sandbox) == [("POST", f"/api/v1/{ACCOUNT}/{INTEGRATION}/contact")]
    history = (tmp_path / "state" / "history").read_text()
    assert "contact add jane@example.com" in history and "contact delete jane@example.com" in history


def test_one_sandbox_for_the_machine(tmp_path: Path) -> None:
    # Without credentials `exec` after `exec` (and the shell, and the bot) share one sandbox, kept in a file.
    first = run_cli("exec", "contact add jane@example.com", cwd=tmp_path)
    assert first.returncode == 0 and first.stdout.startswith("✓ [sandbox] saved contact jane@example.com")
    second = run_cli("exec", "tag add jane@example.com VIP", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("✓ [sandbox] tagged jane@example.com with VIP")
    reset = run_cli("sandbox", "--reset", cwd=tmp_path)
    assert reset.returncode == 0 and "The sandbox is empty again" in reset.stdout
    again = run_cli("exec", "tag add jane@example.com VIP", cwd=tmp_path)
    assert again.returncode == 1 and "not found" in again.stderr


def test_undo_and_restore_follow_a_change(tmp_path: Path, live: tuple[Sandbox, dict[str, str]]) -> None:
    sandbox, env = live
    script = (
        "contact add jane@example.com first=Jane tags=VIP\n"
        "tag add jane@example.com Webinar\n"
        "undo\n"
        "undo\n"
        "contact delete jane@example.com\n"
        "restore\n"
    )
    done = run_cli("shell", "--yes", cwd=tmp_path, env=env, input=script)
    assert "line 4: ✗ Nothing to undo" in done.stderr  # one undo per change
    assert done.returncode == 1
    paths = [
        (request.method, request.path.rsplit("/", 1)[-1]) for request in sandbox.requests if request.method != "GET"
    ]
    assert paths == [
        ("POST", "contact"),
        ("POST", "add"),
        ("POST", "remove"),  # the undo of the tag
        ("DELETE", "jane@example.com"),
        ("POST", "contact"),  # restored
    ]
    assert sandbox.tag_names("jane@example.com") == ["VIP"]
