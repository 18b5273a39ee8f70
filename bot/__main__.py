"""The `segmetrics-bot` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import logs
from bot.connections import AdminError
from bot.context import Habits
from bot.help import overview, resource_help
from bot.locales import known_locale
from bot.problems import CommandError
from bot.runner import Runner
from bot.settings import ManifestSettings, Settings, SettingsError, load_settings
from bot.store import AsyncStore

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


LOCALE_HELP = "how you write dates, as a Slack locale: en-US (02/03 is Feb 3) or en-GB (2 Mar); default DATE_ORDER"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="segmetrics-bot", description="Act on SegMetrics from chat.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the Slack bot over Socket Mode (needs SLACK_BOT_TOKEN, SLACK_APP_TOKEN)")
    run.add_argument("--health-host", default="127.0.0.1", help="where GET /healthz listens (default 127.0.0.1)")
    run.add_argument("--health-port", type=int, default=3000, help="its port (default 3000)")
    serve = sub.add_parser(
        "serve",
        help="serve the Slack bot over HTTP (needs SLACK_SIGNING_SECRET, and SLACK_BOT_TOKEN or, installed by link, "
        "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="port to listen on (default 3000)")
    audit = sub.add_parser("audit", help="export the audit trail (every attempt, allowed or refused)")
    audit.add_argument("--since", help='only from then on: a date or "7 days ago" (in SEGMETRICS_TIMEZONE)')
    audit.add_argument("--user", help="only this Slack user id, e.g. U0123ABCD (or terminal:<login>)")
    audit.add_argument(
        "--surface", choices=("slack", "terminal", "workflow", "reaction"), help="only what was asked for there"
    )
    audit.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")
    audit.add_argument("--team", help="installed by link: this workspace's audit trail, e.g. T0ACME12")
    show = sub.add_parser("manifest", help="print the Slack app manifest (Socket Mode, or HTTP mode with --url)")
    show.add_argument("--url", help="the bot's public HTTPS URL, e.g. https://bot.example.com (HTTP mode)")
    shell = sub.add_parser("shell", help="type chat commands in a terminal (live, or the sandbox without credentials)")
    shell.add_argument("--tz", help="your IANA time zone, for relative dates (default: SEGMETRICS_TIMEZONE)")
    shell.add_argument("--locale", help=LOCALE_HELP)
    shell.add_argument("--yes", action="store_true", help="answer yes to every confirmation (deletes), for scripts")
    run_one = sub.add_parser("exec", help="run one chat command and print the confirmation")
    run_one.add_argument("text", help='e.g. "tag add jane@example.com VIP"')
    run_one.add_argument("--tz", help="your IANA time zone, for relative dates (default: SEGMETRICS_TIMEZONE)")
    run_one.add_argument("--locale", help=LOCALE_HELP)
    run_one.add_argument("--yes", action="store_true", help="answer yes to a confirmation (a delete), for scripts")
    bulk = sub.add_parser("import", help="import a CSV or TSV file: one operation per row")
    bulk.add_argument("file", help="the CSV or TSV file; its first line names the columns")
    bulk.add_argument("--operation", required=True, help='what each row is, e.g. "contact add" or "ad record"')
    bulk.add_argument("--via", help="the connection to send through (default: routed as a command would be)")
    bulk.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help='read a column as a field: --map "Registered=date_created"; --map "Notes=-" ignores it',
    )
    bulk.add_argument("--dry-run", action="store_true", help="read and check every row, send nothing")
    bulk.add_argument("--results", metavar="FILE", help="write every row's outcome to this CSV")
    bulk.add_argument("--again", action="store_true", help="also send rows an earlier import already sent")
    bulk.add_argument("--tz", help="your IANA time zone, for relative dates (default: the connection's)")
    bulk.add_argument("--locale", help=LOCALE_HELP)
    sub.add_parser("sandbox", help="serve the local SegMetrics sandbox over HTTP", add_help=False)
    args, rest = parser.parse_known_args(argv)

    if args.command == "sandbox":
        if "--reset" in rest:
            # The shared sandbox of the terminal and of the bot without credentials: emptied.
            try:
                settings = load_settings()
            except SettingsError as error:
                print(error, file=sys.stderr)
                return EXIT_FAILED
            settings.sandbox_file.unlink(missing_ok=True)
            print(f"The sandbox is empty again ({settings.sandbox_file}).")
            return EXIT_OK
        from bot.sandbox.server import main as sandbox_main

        return sandbox_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "manifest":
        return _manifest(args.url)
    if args.command in ("run", "serve"):
        return _serve(args)
    if args.command == "audit":
        return _audit(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    # The terminal's warnings are redacted too (the connections' keys are added as they are read).
    logs.configure(secrets=_secrets(settings), level=logging.WARNING)
    if args.tz:
        try:
            ZoneInfo(args.tz)
        except (ZoneInfoNotFoundError, ValueError):
            print(f"✗ --tz: {args.tz!r} is not an IANA time zone; use e.g. America/New_York", file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.locale and not known_locale(args.locale):
        print(f"✗ --locale: {args.locale!r} is not a locale; use e.g. en-US or en-GB", file=sys.stderr)
        return EXIT_BAD_INPUT
    habits = Habits(zone=args.tz, locale=args.locale)
    if args.command == "exec":
        return asyncio.run(_exec(settings, args.text, habits, yes=args.yes))
    if args.command == "import":
        return asyncio.run(_import(settings, args, habits))
    return _shell(settings, habits, yes=args.yes)


def _secrets(settings: Settings) -> list[str]:
    """Every secret the settings hold, for redaction: each key of SEGMETRICS_BOT_SECRET_KEY on its own."""
    secrets = [
        secret.get_secret_value()
        for secret in (
            settings.segmetrics_api_key,
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
            settings.slack_client_secret,
            settings.segmetrics_bot_secret_key,
        )
        if secret is not None
    ]
    if settings.segmetrics_bot_secret_key is not None:
        secrets += settings.segmetrics_bot_secret_key.get_secret_value().split(",")
    return secrets


def _manifest(url: str | None) -> int:
    """The manifest, with the reaction events and scopes once reactions are configured."""
    from bot.policy import Policy, PolicyError, policy_for
    from bot.reactions import ReactionsError, configured
    from bot.slack.manifest import RequestUrlError, manifest_yaml
    from commands import REGISTRY

    settings = ManifestSettings()
    try:
        # A directory of workspaces' policies: its default.toml says what the manifest needs.
        policy = Policy.load((), policy_for(settings.segmetrics_bot_policy, "default"), REGISTRY)
        reactions = bool(configured(settings.segmetrics_reactions, policy.reactions, REGISTRY))
    except PolicyError as error:
        print(f"✗ SEGMETRICS_BOT_POLICY: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ReactionsError as error:
        print(f"✗ {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        print(manifest_yaml(REGISTRY, request_url=url, reactions=reactions), end="")
    except RequestUrlError as error:
        print(f"✗ --url {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    """`run` (Socket Mode) or `serve` (HTTP) until SIGINT/SIGTERM."""
    from bot.settings import HttpSettings, SocketModeSettings
    from bot.slack.app import SlackBot, StartupError, build_bot
    from bot.slack.fleet import Fleet
    from bot.slack.server import HttpService, SocketModeService, until_stopped

    model = SocketModeSettings if args.command == "run" else HttpSettings
    try:
        settings = load_settings(model=model)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    logs.configure(format=settings.log_format, secrets=_secrets(settings))

    async def serve() -> int:
        by_link = isinstance(settings, HttpSettings) and settings.by_link
        try:
            bot: SlackBot | Fleet = Fleet(settings) if by_link else build_bot(settings)
        except StartupError as error:
            print(f"Cannot start: {error}", file=sys.stderr)
            return EXIT_FAILED
        service: HttpService | SocketModeService
        if isinstance(settings, SocketModeSettings):
            assert isinstance(bot, SlackBot)
            token = settings.slack_app_token.get_secret_value()
            service = SocketModeService(bot, token, health_host=args.health_host, health_port=args.health_port)
        else:
            service = HttpService(bot, host=args.host, port=args.port)
        try:
            await bot.prepare()
            await service.start()
            frozen = asyncio.create_task(_freeze_when(bot.warmed), name="freeze")
        except (StartupError, OSError) as error:
            print(f"Cannot start: {error}", file=sys.stderr)
            await bot.close(grace=0)
            return EXIT_FAILED
        await until_stopped()
        frozen.cancel()
        await service.stop()
        return EXIT_OK

    return asyncio.run(serve())


async def _freeze_when(warmed: asyncio.Task[None] | None) -> None:
    """What start-up loaded (modules, language data, schemas) lives as long as the process: moved out of
    the collector's sight once loaded, a full collection takes a few ms instead of ~60 ms in mid-burst."""
    if warmed is not None:
        with contextlib.suppress(Exception):
            await asyncio.shield(warmed)
    gc.freeze()


def _audit(args: argparse.Namespace) -> int:
    """Print the audit trail as CSV or JSON."""
    import csv
    import json
    from datetime import UTC, datetime

    from bot.dates import DateReader
    from bot.problems import InvalidValue
    from bot.store import Store, audit, database_exists, rows_as_json, workspace_database

    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_FAILED
    since = None
    if args.since:
        try:
            since = DateReader(settings.date_languages, settings.date_order).read(
                args.since, zone=settings.api_zone, now=datetime.now(UTC), prefer="past"
            )
        except InvalidValue as error:
            print(f'✗ --since {error.message}; e.g. --since 2026-11-01 or --since "7 days ago"', file=sys.stderr)
            return EXIT_BAD_INPUT
    url, schema = settings.segmetrics_bot_database_url, None
    if args.team:
        try:
            url, schema = workspace_database(url, args.team)
        except ValueError:
            print(f"✗ --team {args.team!r} is not a Slack workspace id; e.g. --team T0ACME12", file=sys.stderr)
            return EXIT_BAD_INPUT
        if not database_exists(url, schema):  # not made by reading it
            print(f"✗ --team {args.team}: no workspace of that id has used this bot", file=sys.stderr)
            return EXIT_BAD_INPUT
    store = Store(url, schema=schema)
    try:
        rows = store.audit_rows(since=since, user=args.user, surface=args.surface)
    finally:
        store.close()
    if args.format == "json":
        print(rows_as_json(rows))
        return EXIT_OK
    columns = list(audit.c.keys())
    writer = csv.DictWriter(sys.stdout, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        flat = {name: json.dumps(row[name], ensure_ascii=False) if isinstance(row[name], dict | list) else row[name]
                for name in columns}  # fmt: skip
        flat["at"] = row["at"].isoformat()
        writer.writerow(flat)
    return EXIT_OK


def _sandboxed(settings: Settings) -> bool:
    """Whether `default` is the sandbox (no credentials, and the connections file does not define it)."""
    return settings.sandbox and all(connection.name != "default" for connection in settings.file_connections())


def _banner(settings: Settings) -> str:
    others = [connection.name for connection in settings.file_connections() if connection.name != "default"]
    also = f" Also live: {', '.join(others)} (SEGMETRICS_CONNECTIONS)." if others else ""
    if _sandboxed(settings):
        return (
            "SANDBOX MODE: no SegMetrics credentials are set, so nothing sent through `default` reaches SegMetrics.\n"
            "Set SEGMETRICS_API_KEY, SEGMETRICS_ACCOUNT_ID and SEGMETRICS_INTEGRATION_ID to go live." + also
        )
    default = next((c for c in settings.file_connections() if c.name == "default"), None)
    account = default.account_id if default else settings.segmetrics_account_id
    integration = default.integration_id if default else settings.segmetrics_integration_id
    return f"Live: SegMetrics account {account}, integration {integration}." + also


class UnknownConnections(Exception):
    """The connections added in Slack cannot be read: a command could go to the wrong one."""


def _add_stored_connections(runner: Runner, store: Any, settings: Settings) -> None:
    """The connections admins added in Slack, as the Slack bot reads them (`AdminError` when it cannot)."""
    from bot.connections import stored_connections
    from bot.keyring import Keyring

    secret = settings.segmetrics_bot_secret_key
    keyring = Keyring(secret.get_secret_value()) if secret else None
    for connection in stored_connections(store.stored_connections(), keyring, list(runner.connections)):
        runner.add_connection(connection)


@contextlib.asynccontextmanager
async def _keeping_records(runner: Runner, settings: Settings) -> AsyncIterator[AsyncStore | None]:
    """The terminal keeps and reads the same records of orders and subscriptions as the Slack bot (in
    SEGMETRICS_BOT_DATABASE_URL), so an update typed here changes only what it says too."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.store import AsyncStore, Store

    try:
        store = AsyncStore(Store(settings.segmetrics_bot_database_url))
    except SQLAlchemyError as error:
        if settings.segmetrics_bot_secret_key is not None:
            # Connections added in Slack may say where this command goes: without them it could go elsewhere.
            raise UnknownConnections(
                f"the database cannot be opened ({type(error).__name__}), so the connections added in Slack are not "
                "known"
            ) from None
        print(f"(no records of orders and subscriptions: the database cannot be opened, {type(error).__name__})",
              file=sys.stderr)  # fmt: skip
        yield None
        return
    try:
        _add_stored_connections(runner, store.store, settings)
    except AdminError as error:
        await store.close()
        raise UnknownConnections(str(error)) from None
    runner.keep_records(store)
    try:
        yield store
    finally:
        runner.records = None
        await store.close()


async def _exec(settings: Settings, text: str, habits: Habits, *, yes: bool) -> int:
    if _sandboxed(settings):
        print(_banner(settings), file=sys.stderr)
    try:
        async with _session(settings, habits, yes=yes, interactive=sys.stdin.isatty()) as session:
            return await session.run(text)
    except UnknownConnections as error:
        print(f"✗ Nothing was sent: {error}.", file=sys.stderr)
        return EXIT_FAILED


@contextlib.asynccontextmanager
async def _session(settings: Settings, habits: Habits, *, yes: bool, interactive: bool) -> AsyncIterator[Any]:
    """A terminal session (bot/terminal.py): the runner, the database (records, connections, audit), the policy."""
    from bot.policy import Policy
    from bot.terminal import Session

    async with Runner.from_settings(settings) as runner, _keeping_records(runner, settings) as store:
        policy = Policy.load(settings.segmetrics_bot_admins, settings.segmetrics_bot_policy, runner.registry)
        yield Session(runner, store=store, policy=policy, habits=habits, yes=yes, ask=input if interactive else None)
        if store is not None:
            await store.flush()


async def _import(settings: Settings, args: argparse.Namespace, habits: Habits) -> int:
    """An import keeps each row's outcome in the bot's database: resumable, never twice, skippable on a re-run."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.bulk.terminal import import_file
    from bot.store import AsyncStore, Store

    try:
        store = AsyncStore(Store(settings.segmetrics_bot_database_url))
    except SQLAlchemyError as error:
        what = type(error).__name__
        print(f"✗ An import keeps its rows in SEGMETRICS_BOT_DATABASE_URL, which cannot be opened ({what}).",
              file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    if _sandboxed(settings):
        print(_banner(settings), file=sys.stderr)
    try:
        async with Runner.from_settings(settings) as runner:
            try:
                _add_stored_connections(runner, store.store, settings)
            except AdminError as error:
                print(f"✗ Nothing was sent: {error}.", file=sys.stderr)
                return EXIT_FAILED
            runner.keep_records(store)
            return await import_file(
                runner,
                store,
                args.file,
                args.operation,
                habits=habits,
                via=args.via,
                maps=args.map,
                dry_run=args.dry_run,
                results=args.results,
                again=args.again,
            )
    finally:
        await store.close()


def _shell(settings: Settings, habits: Habits, *, yes: bool) -> int:
    """The prompt: line editing and history (readline) on a terminal; piped, one command a line, no prompt,
    problems as `line N: …` on stderr and exit 1 if any line failed. Ctrl-C cancels the line (or the command
    being run), Ctrl-D leaves."""
    interactive = sys.stdin.isatty()
    say = sys.stdout if interactive else sys.stderr
    print(_banner(settings), file=say)
    if interactive:
        print("Type a command (`help` for examples, `help order` for every key, Ctrl-D to leave).")
    failed = False
    with asyncio.Runner() as loop:
        try:
            opened = _session(settings, habits, yes=yes, interactive=interactive)
            session = loop.run(opened.__aenter__())
        except UnknownConnections as error:
            print(f"✗ Cannot start: {error}.", file=sys.stderr)
            return EXIT_FAILED
        history = _readline(session.runner, settings.state_dir) if interactive else None
        if interactive:
            session.runner.warm_up()  # the date reader's first-use cost, before the first command rather than in it
        try:
            for number in itertools.count(1):
                try:
                    line = input("segmetrics> ") if interactive else sys.stdin.readline()
                except KeyboardInterrupt:
                    print("^C")  # the line is dropped; the prompt comes back
                    continue
                except EOFError:
                    print()
                    break
                if not interactive and not line:
                    break
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                if text in ("quit", "exit"):
                    break
                if text == "help" or text.startswith("help "):
                    topic = text.removeprefix("help").strip()
                    try:
                        names = session.runner.connections.names
                        print(
                            resource_help(session.runner.registry, topic)
                            if topic
                            else overview(session.runner.registry, names)
                        )
                    except CommandError as error:
                        print(f"✗ {error.message}", file=sys.stderr)
                    continue
                try:
                    code = loop.run(session.run(text, line=None if interactive else number))
                except KeyboardInterrupt:
                    print("^C: stopped; it may or may not have reached SegMetrics (see `segmetrics-bot audit`).")
                    code = EXIT_FAILED
                failed = failed or code != EXIT_OK
        finally:
            if history is not None:
                import readline

                with contextlib.suppress(OSError):
                    readline.write_history_file(history)
            loop.run(opened.__aexit__(None, None, None))
    return EXIT_FAILED if failed and not interactive else EXIT_OK


def _readline(runner: Runner, state: Path) -> Path | None:
    """Line editing, history kept across sessions (in the state directory) and Tab completion of resources, verbs
    and keys; None where readline is missing."""
    try:
        import readline
    except ImportError:  # Windows: no line editing, no history
        return None
    history = state / "history"
    with contextlib.suppress(OSError):
        history.parent.mkdir(parents=True, exist_ok=True)
        if history.exists():
            readline.read_history_file(history)
    readline.set_history_length(1000)
    readline.set_completer(_completer(runner))
    readline.set_completer_delims(" ")
    readline.parse_and_bind("tab: complete")
    return history


def _completer(runner: Runner) -> Any:
    def words_for(line: str) -> list[str]:
        parts = line.split(" ")
        registry = runner.registry
        if len(parts) <= 1:
            return sorted({resource.name for resource in registry.resources} | {"help", "quit"})
        resource = registry.resource(parts[0])
        if resource is None:
            return []
        operations = registry.for_resource(resource.name)
        if len(parts) == 2:
            return sorted({verb for op in operations for verb in op.verbs})
        op = registry.find(resource.name, parts[1])
        if op is None:
            return []
        return sorted({f"{spec.name}=" for spec in op.params} | {"via="})

    def complete(text: str, state: int) -> str | None:
        import readline

        line = readline.get_line_buffer()[: readline.get_endidx()]
        matches = [word for word in words_for(line) if word.startswith(text)]
        return matches[state] if state < len(matches) else None

    return complete


if __name__ == "__main__":
    sys.exit(main())
