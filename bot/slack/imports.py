"""Bulk import in Slack: `/segmetrics import`, the App Home's button and the message shortcut "Import this file"
open a form (operation, connection, a CSV/TSV file or a pasted table, the column mapping); its submission shows
a preview (the mapping, the first rows as they would be sent, every row that cannot be); Run posts a message
in the conversation that shows the progress, edited in place, with a Cancel button, and at the end a summary
and the results CSV in its thread. The work itself is `bot.bulk.importer`'s; this is the Slack adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.bulk.importer import LEASE, ImportRun, Preview, Progress, importable, parse_overrides, preview, results_csv
from bot.bulk.journal import ImportJournal, ImportRecord
from bot.bulk.mapping import MappingError, map_columns
from bot.bulk.table import MAX_BYTES, Table, TableError, table_from_bytes, table_from_text
from bot.context import Habits
from bot.operation import Operation
from bot.problems import InputError, InvalidValue
from bot.runner import ConnectionGone
from bot.slack import messages, modals
from bot.slack.replies import Conversation, Undelivered
from bot.slack.work import Work
from bot.store import AuditEvent

log = logging.getLogger("segmetrics_slack.import")

FORM, PREVIEW = "import_form", "import_preview"
FROM_MESSAGE = "import_file_from_message"
CANCEL, UPDATE, FROM_HOME = "import_cancel", "import_update_preview", "home_import"
OPERATION, FILE, PASTED, MAPPING, AGAIN = "operation", "file", "table", "mapping", "again"
SHOWN_IN_PREVIEW = 40
RESUME_EVERY = 30.0
TEXT_LIMIT = 2900


def _count(number: int, what: str) -> str:
    return f"{number:,} {what}{'' if number == 1 else 's'}"


class Imports:
    """The Slack side of bulk imports; `surface` is the dispatcher (runner, client, store, safety, jobs)."""

    def __init__(self, surface: Any) -> None:
        self.surface = surface
        self.journal = ImportJournal(surface.store.store)
        self.running: dict[str, ImportRun] = {}
        self._resuming: asyncio.Task[None] | None = None

    # -- opening the form -------------------------------------------------------------------------

    async def on_command(self, ack: Any, body: Mapping[str, Any], words: str) -> None:
        """`/segmetrics import [<resource> <verb>]`."""
        await ack()
        origin = modals.Origin(
            channel_id=body.get("channel_id"),
            response_url=body.get("response_url"),
            channel_name=body.get("channel_name"),
        )
        named = " ".join(words.split()[1:])
        op = self.surface.runner.registry.named(named) if named else None
        user = str(body.get("user_id"))
        if named and (op is None or op not in importable(self.surface.runner.registry)):
            names = ", ".join(f"`{item.name}`" for item in importable(self.surface.runner.registry))
            text = f"❌ `{named}` is not an operation a file can import. Say one of {names}, or just `import`."
            conversation = self.surface.conversation(user, origin)
            self.surface.jobs.spawn(
                self.surface.guarded(conversation, conversation.tell(messages.notice(text))), name="import refused"
            )
            return
        self._open(str(body.get("trigger_id")), user, origin, operation=op)

    async def on_home(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id"))
        self._open(str(body.get("trigger_id")), user, modals.Origin())

    async def on_message_shortcut(self, ack: Any, body: Mapping[str, Any]) -> None:
        """On a message carrying a CSV: the form, with that file chosen."""
        await ack()
        message = body.get("message") or {}
        channel = body.get("channel") or {}
        user = str((body.get("user") or {}).get("id"))
        origin = modals.Origin(
            channel_id=channel.get("id"),
            response_url=body.get("response_url"),
            thread_ts=message.get("thread_ts") or message.get("ts"),
            channel_name=channel.get("name"),
        )
        files = [item for item in message.get("files") or [] if item.get("id")]
        if not files:
            text = "❌ This message carries no file. Share the CSV in a message, or use `/segmetrics import`."
            conversation = self.surface.conversation(user, origin)
            self.surface.jobs.spawn(
                self.surface.guarded(conversation, conversation.tell(messages.notice(text))), name="import refused"
            )
            return
        chosen = files[0]
        self._open(
            str(body.get("trigger_id")), user, origin, file=(str(chosen["id"]), str(chosen.get("name") or "the file"))
        )

    def _open(
        self, trigger: str, user: str, origin: modals.Origin, *, operation: Operation | None = None, **kept: Any
    ) -> None:
        view = self.form(origin, operation=operation, **kept)

        async def open_it() -> None:
            try:
                await self.surface.client.views_open(trigger_id=trigger, view=view)
            except SlackApiError as error:
                log.warning("views.open for the import form failed: %s", error.response.get("error"))

        self.surface.jobs.spawn(open_it(), name="open import form")

    def form(
        self,
        origin: modals.Origin,
        *,
        operation: Operation | None = None,
        connection: str | None = None,
        file: tuple[str, str] | None = None,
        pasted: str | None = None,
        mapping: str | None = None,
        problem: str | None = None,
    ) -> dict[str, Any]:
        """The import form; `file`: (id, name) already chosen (a message's, or the last submission's)."""
        runner = self.surface.runner
        ops = importable(runner.registry)
        intro = (
            "Import the rows of a CSV or TSV file, or of a table pasted below (its first line names the columns): "
            "each row is one command. You see a preview before anything is sent."
        )
        blocks: list[Any] = []
        if problem:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=f"❌ {messages.escape(problem)}"[:TEXT_LIMIT])))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=intro)]))
        options = [Option(value=op.name, text=f"{op.title} ({op.name})"[:75]) for op in ops]
        blocks.append(
            InputBlock(
                block_id=OPERATION,
                label="Each row is",
                element=StaticSelectElement(
                    action_id=modals.ACTION_ID,
                    options=options,
                    initial_option=next(
                        (option for option in options if operation and option.value == operation.name), None
                    ),
                    placeholder="Choose what each row does",
                ),
            ).to_dict()
        )
        names = runner.connections.names
        if len(names) > 1:
            # Without an operation there is no routing to preset: the user chooses (never `default` by omission).
            chosen = connection
            if chosen is None and operation is not None:
                with contextlib.suppress(InvalidValue):  # a private channel Slack does not name: the user says
                    chosen = runner.route(operation, channel_id=origin.channel_id, channel_name=origin.channel_name)
            blocks.append(modals.via_block(names, chosen).to_dict())
        if file is not None:
            note = f"📎 *{messages.escape(file[1])}* is chosen. Choose another file below to replace it."
            blocks.append(SectionBlock(text=MarkdownTextObject(text=note)).to_dict())
        blocks.append(
            {
                "type": "input",
                "block_id": FILE,
                "optional": True,
                "label": {"type": "plain_text", "text": "A CSV or TSV file"},
                "element": {
                    "type": "file_input",
                    "action_id": modals.ACTION_ID,
                    "filetypes": ["csv", "tsv", "txt"],
                    "max_files": 1,
                },
            }
        )
        blocks.append(
            InputBlock(
                block_id=PASTED,
                label="Or paste a table",
                optional=True,
                element=PlainTextInputElement(
                    action_id=modals.ACTION_ID,
                    multiline=True,
                    initial_value=pasted[: modals.INPUT_LIMIT] if pasted else None,
                    placeholder="email,first_name\njane@example.com,Jane",
                ),
                hint="Copied from a spreadsheet (tabs) or as CSV; the first line names the columns.",
            ).to_dict()
        )
        blocks.append(self._mapping_block(mapping))
        metadata = {**{key: value for key, value in origin.__dict__.items() if value}}
        if file is not None:
            metadata["file"] = list(file)
        return View(
            type="modal",
            callback_id=FORM,
            title=PlainTextObject(text="Import"),
            submit=PlainTextObject(text="Preview"),
            close=PlainTextObject(text="Cancel"),
            private_metadata=self.surface.seal.close(metadata),
            blocks=[block if isinstance(block, dict) else block.to_dict() for block in blocks],
        ).to_dict()

    @staticmethod
    def _mapping_block(mapping: str | None) -> dict[str, Any]:
        return InputBlock(
            block_id=MAPPING,
            label="Column mapping (optional)",
            optional=True,
            element=PlainTextInputElement(
                action_id=modals.ACTION_ID,
                multiline=True,
                initial_value=mapping or None,
                placeholder="Registered = date_created\nNotes = -",
            ),
            hint="Columns are matched to fields by name. To change one: `Column = field` a line; `= -` ignores it.",
        ).to_dict()

    # -- the preview -------------------------------------------------------------------------------

    async def on_form(self, ack: Any, body: Mapping[str, Any]) -> None:
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        user = str((body.get("user") or {}).get("id"))
        kept = self.surface.seal.open(view.get("private_metadata"))
        origin = _origin(kept)
        chosen = modals.submitted_choice(values, OPERATION)
        op = self.surface.runner.registry.named(chosen) if chosen else None
        uploaded = list(modals.element(values, FILE).get("files") or [])
        file = (
            (str(uploaded[0]["id"]), str(uploaded[0].get("name") or "the file"))
            if uploaded
            else (tuple(kept["file"]) if kept.get("file") else None)
        )
        pasted = modals.submitted_text(values, PASTED)
        mapping_text = modals.submitted_text(values, MAPPING)
        errors: dict[str, str] = {}
        if op is None:
            errors[OPERATION] = "Choose what each row is."
        if not file and not (pasted or "").strip():
            errors[PASTED] = "Choose a file above, or paste a table here (its first line names the columns)."
        try:
            overrides = parse_overrides(mapping_text)
        except InvalidValue as error:
            errors[MAPPING] = f"{error.message[:1].upper()}{error.message[1:]}; e.g. `{error.examples[0]}`."
            overrides = {}
        if errors or op is None:
            await ack(response_action="errors", errors=errors)
            return
        try:
            work = self.surface.work(
                op, user, origin, team=(body.get("team") or {}).get("id"), via=modals.read_via(values)
            )
        except InvalidValue as error:
            await ack(
                response_action="errors",
                errors={modals.VIA_BLOCK if modals.VIA_BLOCK in values else OPERATION: error.message},
            )
            return
        decision = self.surface.safety.decide(op, work)
        if not decision.allowed:
            await ack(response_action="errors", errors={OPERATION: decision.message.replace("*", "")})
            return
        # Reading the file may take longer than Slack waits for an answer: a moment's view, then the preview.
        await ack(response_action="update", view=modals.loading_view("Import"))
        typed = {
            "operation": op,
            "connection": work.connection,
            "file": file,
            "pasted": pasted,
            "mapping": mapping_text,
        }
        job = self._preview(str(view.get("id")), op, work, origin, file, pasted, overrides, typed)
        self.surface.jobs.spawn(
            self.surface.guarded(self.surface.conversation(user, origin), job), name="import preview"
        )

    async def _preview(
        self,
        view_id: str,
        op: Operation,
        work: Work,
        origin: modals.Origin,
        file: tuple[str, str] | None,
        pasted: str | None,
        overrides: dict[str, str],
        typed: dict[str, Any],
        *,
        again: bool = False,
        source: tuple[str, bytes] | None = None,
    ) -> None:
        """Read the file (or `source`, already had) and show its preview; a problem shows the form again, with
        what was typed."""
        try:
            name, data = source or await self._source(file, pasted)
            source = name, data
            table = table_of(name, data)
            mapping = map_columns(table.header, op, overrides)
            # Read once, kept with the import: its rows are sent as previewed (this moment, this zone and locale).
            now, habits = datetime.now(UTC), await self.surface.users.habits(work.user)
            ctx = self.surface.runner.context(habits, now=now, connection=work.connection, fingerprint=work.fingerprint)
            seen = await preview(
                self.surface.runner,
                table,
                op,
                mapping,
                ctx,
                journal=self.journal,
                store=self.surface.store,
                pause=self.surface.lane.turn,
            )
        except (TableError, MappingError, _Unreadable, InputError) as error:
            problem = error.errors[0].inline if isinstance(error, InputError) else str(error)
            await self._update(view_id, self.form(origin, problem=problem, **typed))
            return
        if seen.total == 0:
            await self._update(view_id, self.form(origin, problem=f"{name} has a header but no rows.", **typed))
            return
        record = ImportRecord(
            id=str(uuid.uuid4()),
            operation=op.name,
            connection=work.connection or "default",
            fingerprint=work.fingerprint,
            name=name,
            source=data,
            mapping={"overrides": overrides},
            total=seen.total,
            again=again,
            work={**work.as_dict(), "zone": habits.zone, "locale": habits.locale},
            state="ready",
            held_until=now,
            created_at=now,
        )
        await self.surface.store.call(self.journal.create, record)
        await self._update(view_id, self.preview_view(record, seen, typed))

    async def _source(self, file: tuple[str, str] | None, pasted: str | None) -> tuple[str, bytes]:
        if file is None:
            return PASTED_NAME, (pasted or "").encode("utf-8")
        return file[1], await self._download(file[0])

    async def _download(self, file_id: str) -> bytes:
        client = self.surface.client
        try:
            info = (await client.files_info(file=file_id)).get("file") or {}
        except SlackApiError as error:
            raise _Unreadable(f"Slack did not let the bot read the file ({error.response.get('error')}).") from None
        size = int(info.get("size") or 0)
        if size > MAX_BYTES:
            raise _Unreadable(
                f"The file is {size / 1e6:.1f} MB; an import takes at most {MAX_BYTES / 1e6:.0f} MB. Split it."
            )
        url = info.get("url_private_download") or info.get("url_private")
        if not url:
            raise _Unreadable("Slack gave no way to download the file; share it again.")
        headers = {"Authorization": f"Bearer {client.token}"}
        session = client.session or aiohttp.ClientSession()
        try:
            async with session.get(url, headers=headers, allow_redirects=False) as response:
                kind = response.headers.get("Content-Type", "")
                if response.status != 200 or kind.startswith("text/html"):
                    # Slack answers a download it does not allow with its sign-in page, not an error.
                    raise _Unreadable(
                        "Slack did not hand the bot the file (the app may lack the files:read scope: reinstall it "
                        "from its manifest)."
                    )
                chunks, received = [], 0
                async for chunk in response.content.iter_chunked(1 << 16):
                    received += len(chunk)
                    if received > MAX_BYTES:
                        raise _Unreadable(f"The file is over {MAX_BYTES / 1e6:.0f} MB; split it.")
                    chunks.append(chunk)
        finally:
            if client.session is None:
                await session.close()
        data = b"".join(chunks)
        if size and len(data) != size:
            # Never a part of a file taken for the whole: its missing rows would silently not be imported.
            raise _Unreadable(f"Slack sent {len(data):,} of the file's {size:,} bytes; try again.")
        return data

    async def _update(self, view_id: str, view: dict[str, Any]) -> None:
        try:
            await self.surface.client.views_update(view_id=view_id, view=view)
        except SlackApiError as error:  # the user closed it meanwhile
            log.info("views.update of the import form failed: %s", error.response.get("error"))

    def preview_view(self, record: ImportRecord, seen: Preview, typed: Mapping[str, Any]) -> dict[str, Any]:
        op = seen.operation
        lines = [
            f"*{messages.escape(record.name)}*: {_count(seen.total, 'row')}, each a *{messages.escape(op.title)}* "
            f"(`{op.name}`)" + (f" via `{record.connection}`" if len(self.surface.runner.links) > 1 else "") + ".",
            f"✅ {_count(seen.valid, 'row')} can be sent." if seen.valid else "❌ No row can be sent as it is.",
        ]
        if seen.invalid_count:
            lines.append(f"❌ {_count(seen.invalid_count, 'row')} cannot, and will not be sent:")
        blocks: list[Any] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines))).to_dict()]
        if seen.invalid:
            shown = "\n".join(
                f"• line {line}: {messages.escape(reason)}" for line, reason in seen.invalid[:SHOWN_IN_PREVIEW]
            )
            more = seen.invalid_count - min(len(seen.invalid), SHOWN_IN_PREVIEW)
            if more > 0:
                shown += f"\n…and {_count(more, 'more row')}: the results file lists every one."
            blocks.append(SectionBlock(text=MarkdownTextObject(text=shown[:TEXT_LIMIT])).to_dict())
        mapped = "\n".join(f"• {messages.escape(line)}" for line in seen.mapping.describe())
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*Columns*\n{mapped}"[:TEXT_LIMIT])).to_dict())
        if seen.samples:
            sample = "\n".join(f"line {line}: {json.dumps(sent, ensure_ascii=False)}" for line, sent in seen.samples)
            text = f"*The first rows, as they would be sent*\n```{messages.escape(sample)}```"
            blocks.append(SectionBlock(text=MarkdownTextObject(text=text[:TEXT_LIMIT])).to_dict())
        if seen.done_before:
            options = [
                Option(value="skip", text=f"Skip the {seen.done_before:,} rows already sent"),
                Option(value="again", text="Send them again"),
            ]
            blocks.append(
                InputBlock(
                    block_id=AGAIN,
                    label=f"{_count(seen.done_before, 'row')} were sent by an earlier import",
                    element=StaticSelectElement(action_id=modals.ACTION_ID, options=options, initial_option=options[0]),
                ).to_dict()
            )
        blocks.append(self._mapping_block(typed.get("mapping")))
        blocks.append(
            ActionsBlock(
                elements=[ButtonElement(text="Update the preview", action_id=UPDATE, value=record.id)]
            ).to_dict()
        )
        verb = "Run"
        if op.destructive:
            verb = f"{op.verb.capitalize()} {seen.valid:,}"
            warning = f"⚠️ This {op.verb}s {_count(seen.valid, op.resource)} in SegMetrics, permanently."
            blocks.insert(0, SectionBlock(text=MarkdownTextObject(text=warning)).to_dict())
        # Small: the file and the pasted table are in the import's record, not in the view.
        metadata = {"import": record.id, "file": typed.get("file")}
        return View(
            type="modal",
            callback_id=PREVIEW,
            title=PlainTextObject(text="Import: preview"),
            submit=PlainTextObject(text=verb[:24]) if seen.valid else None,
            close=PlainTextObject(text="Cancel"),
            private_metadata=self.surface.seal.close(metadata),
            blocks=blocks,
        ).to_dict()

    async def on_update(self, ack: Any, body: Mapping[str, Any]) -> None:
        """ "Update the preview" after changing the mapping in it."""
        await ack()
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        kept = self.surface.seal.open(view.get("private_metadata"))
        record = await self.surface.store.call(self.journal.get, str(kept.get("import")))
        if record is None:
            return
        op = self.surface.runner.registry.named(record.operation)
        work = Work.from_dict(dict(record.work))
        file = tuple(kept["file"]) if kept.get("file") else None
        pasted = record.source.decode("utf-8", "replace") if file is None else None
        typed = {"operation": op, "connection": record.connection, "file": file, "pasted": pasted}
        typed["mapping"] = modals.submitted_text(values, MAPPING)
        try:
            overrides = parse_overrides(typed["mapping"])
        except InvalidValue as error:
            await self._update(str(view.get("id")), self.form(work.origin, problem=error.message, **typed))
            return
        source = (record.name, record.source)
        job = self._preview(str(view.get("id")), op, work, work.origin, file, pasted, overrides, typed, source=source)
        self.surface.jobs.spawn(
            self.surface.guarded(self.surface.conversation(work.user, work.origin), job), name="import preview"
        )

    # -- running -----------------------------------------------------------------------------------

    async def on_run(self, ack: Any, body: Mapping[str, Any]) -> None:
        view = body.get("view") or {}
        values = (view.get("state") or {}).get("values") or {}
        user = str((body.get("user") or {}).get("id"))
        kept = self.surface.seal.open(view.get("private_metadata"))
        record = await self.surface.store.call(self.journal.get, str(kept.get("import")), source=False)
        if record is None or record.work.get("user") != user:
            await ack(
                response_action="errors", errors={MAPPING: "This preview is not yours, or it is gone: start again."}
            )
            return
        try:
            changed = parse_overrides(modals.submitted_text(values, MAPPING)) != dict(
                record.mapping.get("overrides") or {}
            )
        except InvalidValue:
            changed = True
        if changed:
            await ack(
                response_action="errors", errors={MAPPING: "The mapping changed: click “Update the preview” first."}
            )
            return
        op = self.surface.runner.registry.named(record.operation)
        work = Work.from_dict(dict(record.work))
        decision = self.surface.safety.decide(op, work)
        if not decision.allowed:
            await ack(response_action="errors", errors={MAPPING: decision.message.replace("*", "")})
            return
        unkept = self.surface.cannot_keep(op)
        if unkept:
            await ack(response_action="errors", errors={MAPPING: unkept})
            return
        again = modals.submitted_choice(values, AGAIN) == "again"
        if again != record.again:
            record = replace(record, again=again)
        until = datetime.now(UTC) + LEASE
        if not await self.surface.store.call(self.journal.start, record.id, until, again=again):
            await ack()  # submitted twice: the first submission runs it
            return
        await ack()
        record = replace(record, state="running", held_until=until)
        self.surface.store.record(
            AuditEvent(
                operation=f"import {op.name}",
                outcome="started",
                user_id=user,
                team_id=work.team,
                channel_id=work.channel_id,
                connection=record.connection,
                detail=f"{record.name}: {record.total:,} rows",
                key=f"import:{record.id}",
            )
        )
        job = self.run(record)
        self.surface.jobs.spawn(self.surface.guarded(self.surface.conversation(user, work.origin), job), name="import")

    async def run(self, record: ImportRecord) -> None:
        """Run (or resume) an import this bot holds: progress in its message, results in its thread."""
        surface = self.surface
        if not record.source:  # started from the preview's Run, which read it without its file
            record = await surface.store.call(self.journal.get, record.id) or record
        op = surface.runner.registry.named(record.operation)
        work = Work.from_dict(dict(record.work))
        conversation = surface.conversation(work.user, work.origin)
        table = table_of(record.name, record.source)
        try:
            mapping = map_columns(table.header, op, dict(record.mapping.get("overrides") or {}))
            # As the preview read it: the importer's zone and locale then, and its moment ("yesterday").
            ctx = surface.runner.context(
                habits_of(record), connection=record.connection, fingerprint=record.fingerprint, now=record.created_at
            )
        except ConnectionGone:
            log.warning("import %s waits for its connection %s (not known to this bot)", record.id, record.connection)
            await surface.store.call(self.journal.lease, record.id, record.held_until, datetime.now(UTC))
            return
        except (MappingError, InputError) as error:
            await surface.store.call(self.journal.end, record.id, "cancelled")
            problem = error.errors[0].inline if isinstance(error, InputError) else str(error)
            await conversation.tell(messages.notice(f"❌ The import of {record.name} cannot go on: {problem}"))
            return
        where = await self._progress_message(record, work, conversation)
        run = ImportRun(
            surface.runner,
            surface.store,
            self.journal,
            record,
            op,
            table,
            mapping,
            ctx,
            workers=surface.runner.settings.segmetrics_max_connections,
            audit=surface.store.record,
            on_progress=lambda progress: self._show(where, record, op, progress),
            pause=surface.lane.turn,
        )
        self.running[record.id] = run
        try:
            progress = await run.run()
        except Exception:
            # A bug, not SegMetrics: the import ends here (not resumed into the same failure), and says so.
            reference = uuid.uuid4().hex[:8]
            log.exception("import %s failed unexpectedly (reference %s)", record.id, reference)
            await surface.store.call(self.journal.end, record.id, "cancelled")
            run.stopped = f"the bot failed unexpectedly (reference {reference})"
            progress = replace(run.progress, finished=True, cancelled=True, paused=None)
            await self._show(where, record, op, progress, stopped=run.stopped)
        finally:
            self.running.pop(record.id, None)
        if progress.lost:
            return
        await self._results(where, record, table, progress, work, stopped=run.stopped)

    async def _progress_message(self, record: ImportRecord, work: Work, conversation: Any) -> tuple[str, str] | None:
        """The message showing the progress: the one posted before a restart, else a new one."""
        if record.work.get("progress_ts") and record.work.get("progress_channel"):
            return str(record.work["progress_channel"]), str(record.work["progress_ts"])
        op = self.surface.runner.registry.named(record.operation)
        message = self._message(record, op, Progress(total=record.total))
        try:
            posted = await conversation.post(message)
        except Undelivered as error:
            log.warning("could not post the import's progress (%s)", error)
            posted = None
        if posted is None:  # answered through a response_url (the bot is not in the channel): a DM it can edit
            with contextlib.suppress(Undelivered):
                posted = await Conversation(self.surface.client, work.user).post(message)
        if posted is not None:
            work = {**record.work, "progress_channel": posted[0], "progress_ts": posted[1]}
            await self.surface.store.call(self.journal.update_work, record.id, work)
        return posted

    def _message(
        self, record: ImportRecord, op: Operation, progress: Progress, stopped: str | None = None
    ) -> messages.Message:
        user = record.work.get("user")
        what = f"{op.title.lower()} from *{messages.escape(record.name)}*"
        via = f" via `{record.connection}`" if len(self.surface.runner.links) > 1 else ""
        counts = progress.counts
        done = counts.get("done", 0) + counts.get("not_found", 0)
        failed = progress.failed
        skipped = counts.get("skipped", 0)
        parts = [f"{progress.processed:,} of {progress.total:,}"]
        if failed:
            parts.append(f"{failed:,} failed")
        if skipped:
            parts.append(f"{skipped:,} skipped (sent before)")
        if progress.finished:
            if stopped:
                head = (
                    f"⏹️ <@{user}>'s import of {what}{via} stopped ({messages.escape(stopped)}): "
                    f"{done:,} of {progress.total:,} done"
                )
            elif progress.cancelled:
                head = f"⏹️ <@{user}>'s import of {what}{via} was cancelled: {done:,} of {progress.total:,} done"
            else:
                head = f"✅ <@{user}> imported {what}{via}: {done:,} of {progress.total:,} done"
            tail = [f"{failed:,} failed" for _ in [0] if failed] + [
                f"{skipped:,} skipped (sent before)" for _ in [0] if skipped
            ]
            text = (
                head
                + (" · " + " · ".join(tail) if tail else "")
                + ". Every row's outcome is in the results file in the thread."
            )
            return messages.Message(text, [messages.section(text)])
        left = progress.seconds_left()
        if left is not None:
            parts.append(f"about {_duration(left)} left")
        text = f"⏳ <@{user}> is importing {what}{via} · " + " · ".join(parts)
        if progress.paused:
            text += f"\n⏸️ {messages.escape(progress.paused)}"
        confirm = ConfirmObject(
            title="Cancel the import?",
            text=MarkdownTextObject(text="Rows already sent stay sent; the rest are not sent."),
            confirm="Cancel it",
            deny="Keep going",
            style="danger",
        )
        button = ButtonElement(text="Cancel", action_id=CANCEL, value=record.id, style="danger", confirm=confirm)
        return messages.Message(
            text, [messages.section(text), ActionsBlock(block_id="import_actions", elements=[button]).to_dict()]
        )

    async def _show(
        self,
        where: tuple[str, str] | None,
        record: ImportRecord,
        op: Operation,
        progress: Progress,
        *,
        stopped: str | None = None,
    ) -> None:
        if where is None:
            return
        message = self._message(record, op, progress, stopped)
        # The last edit matters most (it removes Cancel and says how it ended): tried again after a pause.
        for attempt in range(3 if progress.finished else 1):
            try:
                await self.surface.client.chat_update(
                    channel=where[0], ts=where[1], text=message.text, blocks=message.blocks
                )
                return
            except SlackApiError as error:
                log.info("could not update the import's progress (%s)", error.response.get("error"))
                await asyncio.sleep(2.0 * (attempt + 1) if progress.finished else 0)

    async def _results(
        self,
        where: tuple[str, str] | None,
        record: ImportRecord,
        table: Table,
        progress: Progress,
        work: Work,
        *,
        stopped: str | None = None,
    ) -> None:
        if stopped:
            await self._show(
                where, record, self.surface.runner.registry.named(record.operation), progress, stopped=stopped
            )
            stopped = f"not sent: the import stopped ({stopped})"
        else:
            stopped = "not sent: the import was cancelled" if progress.cancelled else "not sent"
        data = await self.surface.store.call(results_csv, table, self.journal, record.id, stopped=stopped)
        stem = record.name.rsplit(".", 1)[0] if "." in record.name else record.name
        filename = f"{stem or 'import'}-results.csv".replace(" ", "-")
        self.surface.store.record(
            AuditEvent(
                operation=f"import {record.operation}",
                outcome="cancelled" if progress.cancelled else "succeeded",
                user_id=record.work.get("user"),
                channel_id=record.work.get("channel_id"),
                connection=record.connection,
                detail=", ".join(f"{status}: {count}" for status, count in sorted(progress.counts.items())),
                key=f"import:{record.id}",
            )
        )
        if where is None:
            return
        try:
            # In the thread the progress message is in (a message shortcut's), else under that message.
            thread = work.thread_ts if where[0] == work.channel_id and work.thread_ts else where[1]
            await self.surface.client.files_upload_v2(
                channel=where[0], thread_ts=thread, content=data, filename=filename, title=f"Results of {record.name}"
            )
        except SlackApiError as error:
            log.warning("could not upload the import's results (%s)", error.response.get("error"))
            refused = error.response.get("error")
            text = f"⚠️ Slack refused the results file ({refused}); `segmetrics-bot audit` has every row."
            with contextlib.suppress(SlackApiError):
                await self.surface.client.chat_postMessage(channel=where[0], thread_ts=where[1], text=text)

    async def on_cancel(self, ack: Any, body: Mapping[str, Any]) -> None:
        await ack()
        user = str((body.get("user") or {}).get("id"))
        action = next((item for item in body.get("actions") or [] if item.get("action_id") == CANCEL), {})
        import_id = str(action.get("value") or "")
        job = self._cancel(import_id, user, body)
        self.surface.jobs.spawn(job, name="cancel import")

    async def _cancel(self, import_id: str, user: str, body: Mapping[str, Any]) -> None:
        record = await self.surface.store.call(self.journal.get, import_id, source=False)
        conversation = self.surface.conversation(user, modals.Origin(response_url=body.get("response_url")))
        if record is None:
            return
        if record.work.get("user") != user and not await self.surface.safety.is_admin(user):
            await conversation.tell(messages.notice("⛔ Only whoever started the import, or an admin, can cancel it."))
            return
        run = self.running.get(import_id)
        if run is not None:
            run.cancel()
        else:  # held by another bot on the same database: it sees the state and stops
            await self.surface.store.call(self.journal.end, import_id, "cancelled")

    async def resume(self) -> None:
        """Imports a stopped or crashed bot was running (on this database): taken over and finished. The
        terminal's own imports are the terminal's (run it again to resume one)."""
        for import_id in await self.surface.store.call(self.journal.abandoned):
            record = await self.surface.store.call(self.journal.get, import_id)
            if record is None or record.work.get("surface") == "terminal" or import_id in self.running:
                continue
            op = self.surface.runner.registry.named(record.operation)
            if op is None or self.surface.cannot_keep(op):
                continue
            until = datetime.now(UTC) + LEASE
            if not await self.surface.store.call(self.journal.lease, record.id, record.held_until, until):
                continue
            log.info("resuming the import %s (%s)", record.id, record.name)
            work = Work.from_dict(dict(record.work))
            job = self.run(replace(record, held_until=until))
            self.surface.jobs.spawn(
                self.surface.guarded(self.surface.conversation(work.user, work.origin), job), name="import"
            )

    def keep_resuming(self, every: float = RESUME_EVERY) -> None:
        """Now and then, take over imports another bot on this database stopped holding (it crashed), and forget
        previews never run."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.resume()
                    old = datetime.now(UTC) - timedelta(days=1)
                    await self.surface.store.call(self.journal.prune_ready, old)
                except Exception as error:
                    log.warning("could not look for imports to resume (%s)", type(error).__name__)

        if self._resuming is None:
            self._resuming = asyncio.get_running_loop().create_task(loop(), name="resume imports")

    def stop(self) -> None:
        if self._resuming is not None:
            self._resuming.cancel()
            self._resuming = None


PASTED_NAME = "the pasted table"


def table_of(name: str, source: bytes) -> Table:
    """The table an import's source holds (a pasted one loses its ``` fences, as when it was previewed)."""
    if name == PASTED_NAME:
        return table_from_text(source.decode("utf-8", "replace"), name=name)
    return table_from_bytes(source, name=name)


def habits_of(record: ImportRecord) -> Habits:
    """The importer's zone and locale when the import was previewed: its rows are read with them, always."""
    return Habits(zone=record.work.get("zone"), locale=record.work.get("locale"))


class _Unreadable(Exception):
    """The file could not be had from Slack; the message says why."""


def _origin(kept: Mapping[str, Any]) -> modals.Origin:
    return modals.Origin(
        channel_id=kept.get("channel_id"),
        response_url=kept.get("response_url"),
        thread_ts=kept.get("thread_ts"),
        channel_name=kept.get("channel_name"),
        ask_where=bool(kept.get("ask_where")),
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
