"""The terminal as a surface (`segmetrics-bot exec` and `shell`): as safe as Slack.

- Every operation is in the audit trail, as the OS user (`terminal:<login>`), surface `terminal`.
- The policy applies. Whoever runs the terminal holds the bot's own credentials, so it counts as an admin, but
  only once `SEGMETRICS_BOT_ADMINS` names any: with no admins, what Slack keeps for admins (the raw API call)
  stays off here too. Rules for named users or channels do not open to the terminal.
- A destructive operation shows what goes and asks `y/N`; `--yes` answers for a script. Without a terminal to
  ask in (piped input) and without `--yes`, it is refused.
- Piped into `shell`, commands run one a line, with no prompt; problems go to stderr as `line N: …`; exit 1 if
  any line failed.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO

from bot.changes import AskInForm
from bot.operation import Operation
from bot.policy import Policy
from bot.problems import CommandError, InputError, InvalidValue
from bot.runner import Outcome, Runner
from bot.segmetrics.errors import SegMetricsError, StatusError
from bot.store import AsyncStore, AuditEvent

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
SURFACE = "terminal"


def terminal_user() -> str:
    """Who is at the terminal, for the audit trail."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"terminal:{login}"


class Session:
    """Runs chat commands typed (or piped) at the terminal; one per `run`."""

    def __init__(
        self,
        runner: Runner,
        *,
        store: AsyncStore | None,
        policy: Policy,
        habits: Any,
        yes: bool = False,
        ask: Callable[[str], str] | None = None,
        out: TextIO = sys.stdout,
        err: TextIO = sys.stderr,
    ) -> None:
        self.runner, self.store, self.habits, self.yes = runner, store, habits, yes
        # Input for a y/N question; None when nobody can answer (piped input).
        self.ask = ask
        self.out, self.err = out, err
        self.user = terminal_user()
        # What `undo` and `restore` would do: the last change made here, the last contact deleted here.
        self._undo: tuple[Operation, dict[str, Any], str] | None = None
        self._restore: tuple[dict[str, Any], str] | None = None
        self._snapshot: dict[str, Any] | None = None
        # The terminal counts as an admin once admins exist at all (see the module).
        self.policy = Policy(
            admins=[*policy.admins, self.user] if policy.admins else [],
            rules=policy.rules,
            defaults=policy.defaults,
            connections=policy.connections,
            path=policy.path,
        )

    def _say(self, text: str, line: int | None = None) -> None:
        prefix = f"line {line}: " if line is not None else ""
        print(f"{prefix}{text}", file=self.err, flush=True)

    async def run(self, text: str, *, line: int | None = None) -> int:
        if text.strip().lower() in ("undo", "restore"):
            return await self._follow_up(text.strip().lower(), line)
        runner = self.runner
        try:
            parsed = runner.parse(text)
            op = parsed.operation
            connection = runner.route(op, via=parsed.via)
        except CommandError as error:
            self._say(f"✗ {error.message}", line)
            if error.usage:
                self._say(f"  usage: {error.usage}")
            return EXIT_BAD_INPUT
        except InvalidValue as error:
            self._say(f"✗ `via={parsed.via}`: {error.message}", line)
            return EXIT_BAD_INPUT
        return await self._go(op, dict(parsed.raw), connection, line)

    async def _follow_up(self, word: str, line: int | None) -> int:
        """`undo` the last change made here, or `restore` the last contact deleted here (as Slack's buttons)."""
        if word == "undo":
            if self._undo is None:
                self._say("✗ Nothing to undo: `undo` undoes the last change made in this shell.", line)
                return EXIT_FAILED
            op, raw, connection = self._undo
            self._undo = None
            return await self._go(op, raw, connection, line, offer=False)  # an undo is not undone in turn
        if self._restore is None:
            self._say("✗ Nothing to restore: `restore` brings back the last contact deleted in this shell.", line)
            return EXIT_FAILED
        from bot.slack.safety import restore_raw

        snapshot, connection = self._restore
        self._restore = None
        raw = restore_raw(snapshot, self.runner.link(connection).api_zone)
        return await self._go(self.runner.registry["contact add"], raw, connection, line, offer=False)

    async def _go(
        self, op: Operation, raw: dict[str, Any], connection: str, line: int | None, *, offer: bool = True
    ) -> int:
        runner = self.runner
        decision = self.policy.decide(op, self.user, connection=connection)
        if not decision.allowed:
            self._audit(op, "refused", connection, detail=decision.rule)
            self._say(f"✗ {decision.message.replace('*', '')}", line)
            return EXIT_FAILED
        try:
            ctx = runner.context(self.habits, connection=connection)
            data = await runner.read(op, raw, ctx)
        except InputError as error:
            if isinstance(error, AskInForm):
                self._say(f"✗ {error.without_form}", line)  # the terminal has no form
            self._say("✗ Nothing was sent to SegMetrics:", line if not isinstance(error, AskInForm) else None)
            for problem in error.errors:
                self._say(f"  - {problem.message}")
            return EXIT_BAD_INPUT
        if op.needs_confirmation(data) and not await self._confirmed(op, data, ctx, line):
            self._audit(op, "cancelled", connection, detail="not confirmed at the terminal")
            return EXIT_FAILED
        request = op.request(data, ctx)
        sent = {"method": request.method, "path": request.path, "json": request.json}
        try:
            outcome = await runner.execute(op, data, ctx, given=raw.keys(), request=request)
        except SegMetricsError as error:
            details = (
                {"status_code": error.status_code, "response": error.body} if isinstance(error, StatusError) else {}
            )
            self._audit(op, "failed", connection, request=sent, detail=str(error), attempts=error.attempts, **details)
            self._say(f"✗ {error}", line)
            return EXIT_FAILED
        except InputError as error:  # a change whose record changed meanwhile: nothing sent
            self._audit(op, "failed", connection, request=sent, detail=str(error))
            self._say(f"✗ {error.errors[0].message}", line)
            return EXIT_FAILED
        response = outcome.response
        self._audit(
            op,
            "succeeded" if outcome.found else "not_found",
            connection,
            request=sent,
            status_code=response.status_code if response else 404,
            response=response.body if response else None,
            attempts=response.attempts if response else None,
        )
        self._print(outcome)
        if offer:
            self._offer(op, outcome, ctx, connection)
        return EXIT_OK

    def _offer(self, op: Operation, outcome: Outcome, ctx: Any, connection: str) -> None:
        """Remember what `undo` and `restore` would do next, and say so at a prompt."""
        inverse = self.runner.registry.inverse(op)
        if inverse is not None and outcome.found:
            self._undo = (inverse, op.raw_of(outcome.input, ctx), connection)
            if self.ask is not None:
                print("  (`undo` undoes it)", file=self.out)
        if op.destructive and outcome.found and self._snapshot:
            self._restore = (self._snapshot, connection)
            if self.ask is not None:
                print("  (`restore` brings it back)", file=self.out)
        self._snapshot = None

    async def _confirmed(self, op: Operation, data: Any, ctx: Any, line: int | None) -> bool:
        """Show what goes (as Slack's prompt does) and ask; `--yes` answers for a script."""
        shown = await self._what_goes(op, data, ctx)
        if self.yes:
            return True
        if self.ask is None:
            self._say(f"✗ {op.title} asks first, and there is no terminal to ask in: add --yes to run it.", line)
            return False
        for text in shown:
            print(text, file=self.out)
        answer = self.ask(f"{op.title}: {op.describe(data, None, ctx).headline}? [y/N] ").strip().lower()
        if answer in ("y", "yes"):
            return True
        print("Nothing was sent.", file=self.out)
        return False

    async def _what_goes(self, op: Operation, data: Any, ctx: Any) -> list[str]:
        reader = self.runner.registry.reader(op)
        if reader is None:
            return []
        try:
            found = await self.runner.execute(reader, data, ctx)
        except SegMetricsError as error:
            return [f"(could not look it up first: {error})"]
        if not found.found:
            return [f"({found.summary.headline})"]
        self._snapshot = (found.response.body or {}).get("data") if found.response else None
        return [found.summary.as_text()]

    def _print(self, outcome: Outcome) -> None:
        mark = "[sandbox] " if outcome.sandbox else ""
        headline, _, facts = outcome.summary.as_text().partition("\n")
        if self.out.isatty():  # bold on a terminal; plain when piped
            headline = f"\033[1m{headline}\033[0m"
        via = f" (via {outcome.via})" if outcome.via else ""
        print(
            ("✓ " if outcome.found else "• ") + mark + headline + via + (f"\n{facts}" if facts else ""), file=self.out
        )

    def _audit(self, op: Operation, outcome: str, connection: str, **details: Any) -> None:
        if self.store is None:
            return
        self.store.record(
            AuditEvent(
                operation=op.name,
                outcome=outcome,
                user_id=self.user,
                connection=connection,
                surface=SURFACE,
                **details,
            )
        )
