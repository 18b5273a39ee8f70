"""Bulk import through Slack, as a team meets it: a CSV shared in Slack (the fake serves files.info and the
download), a pasted table, the preview, the progress message, the results file in its thread; a restart, an
outage and a cancel in the middle; a re-run that skips what was already sent."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from bot.sandbox import Fault, Sandbox
from tests.e2e.conftest import BASE, CHANNEL, BotFactory, Slack, settled, temporary_database

ATTENDEES = (
    b"First Name,Last Name,E-mail,Created,Notes\r\n"
    b"Jane,Doe,jane@example.com,2026-11-20 10:00,first row\r\n"
    b'Sam,"Lee, Jr.",sam@example.com,2026-11-20 10:05,"two\r\nlines"\r\n'
    b"Ana,Silva,ana(at)example.com,2026-11-20 10:07,\r\n"
    b"Bo,Chen,bo@example.com,yesterday-ish,\r\n"
)
FAST = {
    "segmetrics_timeout": 0.5,
    "segmetrics_max_attempts": 1,
    "segmetrics_retry_budget": 1.0,
}


def many(count: int) -> bytes:
    rows = "".join(f"person{index}@example.com,Person {index}\n" for index in range(count))
    return f"email,first_name\n{rows}".encode()


async def open_form(slack: Slack, text: str = "import contact add", **options: Any) -> dict[str, Any]:
    since = time.monotonic()
    await slack.command(text, **options)
    return await slack.opened_view(after=since)


async def previewed(slack: Slack, form: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    """Submit the import form; the preview the bot puts in its place."""
    since = time.monotonic()
    answer = (await slack.submit(form, typed)).json()
    assert answer["response_action"] == "update", answer  # "Loading…" while the file is read
    call = await slack.fake.async_wait_for(
        "views.update",
        lambda call: call.at >= since and call.args["view"]["callback_id"] in ("import_preview", "import_form"),
    )
    return dict(call.args["view"], id=call.args["view_id"])


def text_of(view: dict[str, Any]) -> str:
    """Every text a view shows, as shown (unescaped)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(view["blocks"])
    return "\n".join(found)


async def finished(slack: Slack, timeout: float = 30.0, since: float = 0.0) -> dict[str, Any]:
    """The progress message, once it says the import ended."""
    call = await slack.fake.async_wait_for(
        "chat.update",
        lambda call: (
            call.at >= since
            and call.args.get("text", "").startswith(("✅", "⏹️"))
            and "import" in call.args.get("text", "")
        ),
        timeout=timeout,
    )
    return call.args


def results(slack: Slack, upload: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(upload.text)))


async def test_a_csv_shared_in_slack_is_previewed_then_imported(slack: Slack, sandbox: Sandbox) -> None:
    file_id = slack.fake.add_file(ATTENDEES, name="attendees.csv")
    form = await open_form(slack)
    operation = next(block for block in form["blocks"] if block.get("block_id") == "operation")
    assert operation["element"]["initial_option"]["value"] == "contact add"
    preview = await previewed(slack, form, {"file": [{"id": file_id, "name": "attendees.csv"}]})
    shown = text_of(preview)
    assert preview["callback_id"] == "import_preview"
    assert "*attendees.csv*: 4 rows" in shown and "2 rows can be sent" in shown
    assert "line 5: " in shown and "E-mail" in shown  # the bad address, named by its field (Sam spans lines 3-4)
    assert "line 6: " in shown  # the date it cannot read
    assert "First Name → first_name" in shown and "Notes: ignored" in shown
    assert '"email": "jane@example.com"' in shown and '"last_name": "Lee, Jr."' in shown  # as it will be sent
    assert sandbox.requests == []  # a preview sends nothing
    assert [call.args for call in slack.fake.calls_to("file.download")]

    assert (await slack.submit(preview)).text == ""
    started = await slack.posted(lambda call: "is importing" in call.args.get("text", ""))
    assert started.args["channel"] == CHANNEL
    done = await finished(slack)
    assert done["text"].startswith("✅ <@U1> imported") and "2 of 4 done" in done["text"] and "2 failed" in done["text"]
    upload = await slack.fake.async_wait_for_upload()
    assert upload.channel == CHANNEL and upload.thread_ts == started.args.get("ts", upload.thread_ts)
    rows = results(slack, upload)
    assert [(row["line"], row["status"]) for row in rows] == [
        ("2", "done"),
        ("3", "done"),
        ("5", "invalid"),
        ("6", "invalid"),
    ]
    assert rows[2]["E-mail"] == "ana(at)example.com" and "E-mail" in rows[2]["reason"]
    await settled(slack)
    posted = [r.json for r in sandbox.requests if r.path == f"{BASE}/contact"]
    by_email = {body["email"]: body for body in posted}  # rows go a few at a time: in any order
    assert sorted(by_email) == ["jane@example.com", "sam@example.com"] and len(posted) == 2
    assert by_email["jane@example.com"]["date_created"] == "2026-11-20 15:00:00"  # read in New York, sent in UTC
    audit = slack.bot.store.store.audit_rows()
    keys = [row["key"] for row in audit if row["operation"] == "contact add"]
    assert len(keys) == 2 and all(key.startswith("import:") for key in keys)
    assert {row["outcome"] for row in audit if row["operation"] == "import contact add"} == {"started", "succeeded"}
    # /metrics counts what the audit trail records: the import's rows and the import itself too.
    metrics = (await slack.http.get(f"{slack.url}/metrics")).text
    assert 'segmetrics_bot_operations_total{operation="contact add",outcome="succeeded"} 2.0' in metrics
    assert 'segmetrics_bot_operations_total{operation="import contact add",outcome="started"} 1.0' in metrics


async def test_a_pasted_table_with_a_fixed_mapping(slack: Slack, sandbox: Sandbox) -> None:
    await slack.bot.runner.run_text("contact add jane@example.com")
    await slack.bot.runner.run_text("contact add sam@example.com")
    sandbox.reset_requests()
    form = await open_form(slack, "import")
    pasted = "Who\tLabel\njane@example.com\tAttended\nsam@example.com\tAttended, VIP\n"
    preview = await previewed(slack, form, {"operation": "tag add", "table": pasted})
    assert preview["callback_id"] == "import_form"  # no column named like a contact: the form again, with why
    assert "None of the columns" in text_of(preview) and '"Who"' in text_of(preview)
    kept = {block["block_id"]: block["element"] for block in preview["blocks"] if block.get("type") == "input"}
    assert kept["table"]["initial_value"] == pasted  # what was pasted is kept
    assert kept["operation"]["initial_option"]["value"] == "tag add"
    preview = await previewed(
        slack, preview, {"operation": "tag add", "table": pasted, "mapping": "Who = email\nLabel = tags"}
    )
    assert preview["callback_id"] == "import_preview" and "2 rows can be sent" in text_of(preview)
    assert (await slack.submit(preview)).text == ""
    await finished(slack)
    await settled(slack)
    assert sandbox.tag_names("sam@example.com") == ["Attended", "VIP"]


async def test_a_message_carrying_a_csv_can_be_imported(slack: Slack, sandbox: Sandbox) -> None:
    file_id = slack.fake.add_file(many(3), name="list.csv", channel=CHANNEL)
    since = time.monotonic()
    message = {"ts": "7.1", "text": "here is the list", "files": [{"id": file_id, "name": "list.csv"}]}
    await slack.message_shortcut("import_file_from_message", message)
    form = await slack.opened_view(after=since)
    assert "list.csv* is chosen" in text_of(form)
    preview = await previewed(slack, form, {"operation": "contact add"})
    assert "3 rows can be sent" in text_of(preview)
    await slack.submit(preview)
    started = await slack.posted(lambda call: "is importing" in call.args.get("text", ""))
    assert started.args.get("thread_ts") == "7.1"  # in the message's thread
    await finished(slack)


async def test_a_rerun_skips_what_was_sent(slack: Slack, sandbox: Sandbox) -> None:
    for attempt in range(2):
        since = time.monotonic()
        form = await open_form(slack)
        preview = await previewed(slack, form, {"table": many(4).decode()})
        if attempt:
            assert "4 rows were sent by an earlier import" in text_of(preview)
        await slack.submit(preview)
        done = await finished(slack, since=since)
    assert "4 skipped (sent before)" in done["text"]
    await settled(slack)
    assert len([r for r in sandbox.requests if r.method == "POST"]) == 4


async def test_an_outage_pauses_the_import_and_it_goes_on(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(**FAST)
    form = await open_form(slack)
    preview = await previewed(slack, form, {"table": many(30).decode()})
    sandbox.add_fault(Fault(status=503, times=10_000))
    await slack.submit(preview)
    await slack.fake.async_wait_for(
        "chat.update", lambda call: "SegMetrics is not answering" in call.args.get("text", ""), timeout=15
    )
    sandbox.reset()  # SegMetrics is back
    done = await finished(slack, timeout=60)
    assert "30 of 30 done" in done["text"] and "failed" not in done["text"]
    await settled(slack)
    accepted = {r.json["email"] for r in sandbox.requests if r.status == 200}
    assert len(accepted) == 30


async def test_a_restart_mid_import_resumes_it(bots: BotFactory, sandbox: Sandbox) -> None:
    database = temporary_database()
    first = await bots.start(segmetrics_bot_database_url=database, segmetrics_max_connections=2)
    sandbox.latency = 0.05
    form = await open_form(first)
    preview = await previewed(first, form, {"table": many(60).decode()})
    await first.submit(preview)
    await first.fake.async_wait_for("chat.update", lambda call: "is importing" in call.args.get("text", ""), timeout=10)
    await bots.stop(first, grace=0.1)
    sent_before = len([r for r in sandbox.requests if r.method == "POST"])
    assert 0 < sent_before < 60
    second = await bots.start(segmetrics_bot_database_url=database, segmetrics_max_connections=4)
    done = await finished(second, timeout=60)
    assert "60 of 60 done" in done["text"]
    await settled(second)
    emails = [r.json["email"] for r in sandbox.requests if r.method == "POST"]
    assert set(emails) == {f"person{index}@example.com" for index in range(60)}  # none skipped
    assert len(emails) - 60 <= 2  # at most the rows in flight at the stop were sent again (upserts)
    rows = results(second, await second.fake.async_wait_for_upload())
    assert [row["status"] for row in rows] == ["done"] * 60


async def test_a_cancel_stops_between_rows(bots: BotFactory, sandbox: Sandbox) -> None:
    slack = await bots.start(segmetrics_max_connections=2)
    sandbox.latency = 0.05
    form = await open_form(slack)
    preview = await previewed(slack, form, {"table": many(200).decode()})
    await slack.submit(preview)
    progress = await slack.fake.async_wait_for(
        "chat.update", lambda call: "is importing" in call.args.get("text", ""), timeout=10
    )
    button = next(
        element
        for block in progress.args["blocks"]
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"] == "import_cancel"
    )
    await slack.click("import_cancel", button["value"], user="U2")  # not theirs to cancel
    refused = await slack.posted(
        lambda call: "Only whoever started the import" in call.args.get("text", ""), method="response_url"
    )
    assert refused.args["response_type"] == "ephemeral"
    await slack.click("import_cancel", button["value"])
    done = await finished(slack, timeout=20)
    assert done["text"].startswith("⏹️") and "was cancelled" in done["text"]
    rows = results(slack, await slack.fake.async_wait_for_upload())
    statuses = [row["status"] for row in rows]
    assert statuses.count("done") < 200 and "not sent" in statuses
    assert all(row["reason"] == "not sent: the import was cancelled" for row in rows if row["status"] == "not sent")
    await settled(slack)
    assert len([r for r in sandbox.requests if r.method == "POST"]) == statuses.count("done")


async def test_a_big_file_is_read_whole(slack: Slack, sandbox: Sandbox) -> None:
    # Several hundred kilobytes arrive in many chunks: every row must be in the preview, none cut off.
    file_id = slack.fake.add_file(many(8000), name="big.csv")
    form = await open_form(slack)
    preview = await previewed(slack, form, {"file": [{"id": file_id, "name": "big.csv"}]})
    assert "*big.csv*: 8,000 rows" in text_of(preview) and "8,000 rows can be sent" in text_of(preview)


async def test_the_terminals_imports_are_not_resumed_by_the_slack_bot(bots: BotFactory, sandbox: Sandbox) -> None:
    # A terminal import stopped mid-way (its lease handed back) is the terminal's to run again: a Slack bot on
    # the same database, which does not know the terminal user's zone, leaves it alone.
    from datetime import UTC, datetime

    from bot.bulk.journal import ImportJournal, ImportRecord
    from bot.store import Store

    database = temporary_database()
    store = Store(database)
    ImportJournal(store).create(
        ImportRecord(
            id="terminal-import-1",
            operation="contact add",
            connection="default",
            fingerprint=None,
            name="list.csv",
            source=many(5),
            mapping={"overrides": {}},
            total=5,
            again=False,
            work={"user": "terminal", "surface": "terminal", "zone": "Asia/Tokyo"},
            state="running",
            held_until=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    store.close()
    slack = await bots.start(segmetrics_bot_database_url=database)
    await slack.bot.surface.imports.resume()
    await settled(slack)
    assert sandbox.requests == []
    assert ImportJournal(slack.bot.store.store).state("terminal-import-1") == "running"


async def test_a_form_opened_without_an_operation_presets_no_connection(
    bots: BotFactory, sandbox: Sandbox, tmp_path: Any
) -> None:
    from tests.e2e.conftest import ACCOUNT, API_KEY

    path = tmp_path / "connections.toml"
    path.write_text(
        f'[connections.ads]\napi_key = "{API_KEY}"\naccount_id = "{ACCOUNT}"\n'
        'integration_id = "91"\nresources = ["ad"]\n',
        encoding="utf-8",
    )
    slack = await bots.start(segmetrics_connections=str(path))
    form = await open_form(slack, "import")
    via = next(block for block in form["blocks"] if block.get("block_id") == "via")
    assert "initial_option" not in via["element"]  # chosen by the user, never `default` by omission
    form = await open_form(slack, "import ad record")
    via = next(block for block in form["blocks"] if block.get("block_id") == "via")
    assert via["element"]["initial_option"]["value"] == "ads"  # as `ad record` typed in chat would go
