"""What users see in Slack, as Block Kit: confirmations, problems, help.

Every piece of user text placed in mrkdwn is escaped (`&`, `<`, `>`), so a contact named `<!channel>`
pings nobody and `<https://evil|bank>` links nowhere. Our own markup is added after escaping.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.operation import Fact, Operation
from bot.problems import CommandError, InputError
from bot.runner import Outcome
from bot.segmetrics.errors import BadRequest, SegMetricsError

# The buttons these messages carry; the listeners register the same ids.
UNDO_ACTION, RESTORE_ACTION, RETRY_ACTION = "undo", "restore", "retry_edit"
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
TEXT_LIMIT = 3900
MESSAGE_BLOCK_LIMIT = 50
SANDBOX_BADGE = "🧪 *Sandbox*: nothing was sent to SegMetrics"


def escape(text: str) -> str:
    """Neutralise Slack's control sequences in user text: `<!channel>`, `<@U…>`, `<url|label>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(text: str) -> str:
    """User text as a code block (escaped: Slack still reads `<…>` inside backticks)."""
    return "```" + escape(text).replace("```", "ˋˋˋ") + "```"


@dataclass(frozen=True)
class Message:
    """A message: `text` is the notification and screen-reader fallback, `blocks` what is shown."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def ephemeral(self) -> dict[str, Any]:
        """As keyword arguments for a slash command's `ack()` or a `response_url` post."""
        return {"response_type": "ephemeral", "text": self.text, "blocks": self.blocks}

    def in_channel(self) -> dict[str, Any]:
        return {"response_type": "in_channel", "text": self.text, "blocks": self.blocks}


def _message(text: str, blocks: Iterable[Block]) -> Message:
    rendered = [block.to_dict() for block in blocks][:MESSAGE_BLOCK_LIMIT]
    return Message(text=_clip(text, TEXT_LIMIT), blocks=rendered)


def _section(mrkdwn: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=_clip(mrkdwn, SECTION_LIMIT)))


def section(mrkdwn: str) -> dict[str, Any]:
    """A section block (as a dict) for mrkdwn that is already safe."""
    return _section(mrkdwn).to_dict()


ACTIONS_BLOCK = "undo_actions"
HINT_BLOCK = "undo_hint"
# Blocks that go when a confirmation's button has been used.
BUTTON_BLOCKS = frozenset({ACTIONS_BLOCK, HINT_BLOCK})


def _undo_button(ticket: str | None, restore: str | None = None) -> list[Block]:
    """Undo (a ticket id) or Restore (for a deleted contact), both good for 10 minutes."""
    buttons = []
    if ticket is not None:
        buttons.append(ButtonElement(text="Undo", action_id=UNDO_ACTION, value=ticket))
    if restore is not None:
        buttons.append(ButtonElement(text="Restore", action_id=RESTORE_ACTION, value=restore))
    if not buttons:
        return []
    hint = ContextBlock(block_id=HINT_BLOCK, elements=[MarkdownTextObject(text="Possible for 10 minutes.")])
    return [ActionsBlock(block_id=ACTIONS_BLOCK, elements=buttons), hint]


def fields(facts: Sequence[Fact]) -> list[SectionBlock]:
    """Facts as section fields, ten per section (Slack's limit), labels and values escaped."""
    return _fields(facts)


def context(lines: Iterable[str]) -> list[ContextBlock]:
    """Context lines; the caller escapes user text in them."""
    return _context(lines)


def _fields(facts: Sequence[Fact]) -> list[SectionBlock]:
    rendered = [
        MarkdownTextObject(text=_clip(f"*{escape(fact.label)}*\n{escape(fact.value)}", FIELD_LIMIT)) for fact in facts
    ]
    return [
        SectionBlock(fields=rendered[start : start + FIELDS_PER_SECTION])
        for start in range(0, len(rendered), FIELDS_PER_SECTION)
    ]


def _context(lines: Iterable[str]) -> list[ContextBlock]:
    elements = [MarkdownTextObject(text=_clip(line, FIELD_LIMIT)) for line in lines if line]
    return [ContextBlock(elements=elements[:10])] if elements else []


def confirmation(
    outcome: Outcome,
    *,
    user_id: str,
    undo: str | None = None,
    restore: str | None = None,
    notes: Sequence[str] = (),
) -> Message:
    """Posted in the channel: who did what, and the values as SegMetrics received them. With an `undo` or
    `restore` ticket, its button (10 minutes)."""
    summary = outcome.summary
    mark = "✅" if outcome.found else "ℹ️"
    # With several connections, which one it went through ("via ads"), in the notification text too.
    via = f" via {escape(outcome.via)}" if outcome.via else ""
    headline = f"{mark} <@{user_id}> {escape(summary.headline)}{via}"
    lines = [escape(note[:1].upper() + note[1:]) for note in (*summary.notes, *notes)]
    if outcome.sandbox:
        lines.insert(0, SANDBOX_BADGE)
    blocks: list[Block] = [_section(headline), *_fields(summary.facts), *_context(lines), *_undo_button(undo, restore)]
    fallback = f"<@{user_id}> {escape(summary.headline)}{via}" + (" (sandbox)" if outcome.sandbox else "")
    return _message(fallback, blocks)


def batch_confirmation(
    *,
    user_id: str,
    verb: str,
    what: str,
    done: Sequence[str],
    failed: Sequence[tuple[str, str]],
    sandbox: bool,
    undo: str | None = None,
    via: str | None = None,
) -> Message:
    """One operation on several contacts ("tagged 3 contacts with VIP"): every contact named, every failure
    with its reason, over as many sections as it takes."""
    count = f"{len(done)} contact{'s' if len(done) != 1 else ''}"
    headline = f"{verb} {count} {what}".strip() + (f" via {via}" if via else "")
    lines = [f"✅ <@{user_id}> {escape(headline)}"] if done else []
    lines += [f"• {escape(who)}" for who in done]
    if failed:
        lines.append(f"❌ *Not done for {len(failed)}:*")
        lines += [f"• {escape(who)}: {escape(why)}" for who, why in failed]
    notes = [SANDBOX_BADGE] if sandbox else []
    blocks = [*_sections(lines), *_context(notes), *_undo_button(undo if done else None)]
    fallback = f"<@{user_id}> {escape(headline)}" + (f"; {len(failed)} not done" if failed else "")
    return _message(fallback, blocks)


def _sections(lines: Sequence[str]) -> list[Block]:
    """Lines packed into sections that each fit Slack's 3,000 characters (none is ever cut)."""
    sections: list[Block] = []
    chunk = ""
    for line in lines:
        line = _clip(line, SECTION_LIMIT)
        if chunk and len(chunk) + len(line) + 1 > SECTION_LIMIT:
            sections.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    return [*sections, _section(chunk)] if chunk else sections


def _retype(typed: str | None) -> list[Block]:
    """The user's command back, whole: a long one over several sections rather than clipped."""
    if not typed:
        return []
    parts = _pieces(typed, SECTION_LIMIT - 100)
    heading = "Your command, to fix and run again" + (
        f" ({len(parts)} parts, one after the other)" if len(parts) > 1 else ""
    )
    return [_section(f"{heading}:\n{_code(parts[0])}"), *(_section(_code(part)) for part in parts[1:])]


def _pieces(text: str, limit: int) -> list[str]:
    """`text` cut so that each piece, once escaped, fits `limit` characters."""
    pieces, current, size = [], [], 0
    for char in text:
        width = len(escape(char))
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    return [*pieces, "".join(current)] if current else pieces


def input_problems(error: InputError, *, typed: str | None) -> Message:
    """Only to the person who ran it: each field, what was wrong, an example that works."""
    lines = "\n".join(f"• {escape(problem.message)}" for problem in error.errors)
    blocks = [_section(f"❌ *Nothing was sent to SegMetrics.*\n{lines}"), *_retype(typed)]
    return _message(escape("Nothing was sent to SegMetrics: " + "; ".join(p.message for p in error.errors)), blocks)


def command_problem(error: CommandError, *, typed: str | None) -> Message:
    text = f"❌ {escape(error.message)}"
    if error.usage:
        text += f"\nUsage: `{escape(error.usage)}`"
    blocks = [_section(text), *_retype(typed)]
    return _message(escape(error.message), blocks)


def segmetrics_problem(
    error: SegMetricsError, operation: Operation, *, typed: str | None, retry: str | None = None
) -> Message:
    """SegMetrics said no (or could not be reached): its own words, the command back, and with a `retry`
    ticket an Edit and retry button that reopens the form with everything typed."""
    if isinstance(error, BadRequest) and error.errors:
        reasons = "\n".join(f"• {escape(reason)}" for reason in error.errors)
        text = f"❌ *{escape(operation.title)}* was rejected by SegMetrics:\n{reasons}"
    else:
        text = f"❌ *{escape(operation.title)} failed.* {escape(str(error))}"
    buttons = [ActionsBlock(elements=[ButtonElement(text="Edit and retry", action_id=RETRY_ACTION, value=retry)])]
    return _message(escape(str(error)), [_section(text), *_retype(typed), *(buttons if retry else [])])


def unexpected_problem(reference: str, *, typed: str | None) -> Message:
    text = (
        f"❌ *The bot hit an unexpected problem* (reference `{reference}`). It may or may not have reached "
        "SegMetrics; whoever runs the bot can look the reference up in its logs."
    )
    return _message(f"The bot hit an unexpected problem (reference {reference}).", [_section(text), *_retype(typed)])


def notice(text: str, *, typed: str | None = None) -> Message:
    """A plain sentence (ours, not user text) with the command handed back."""
    return _message(escape(text), [_section(escape(text)), *_retype(typed)])


def help_message(text: str) -> Message:
    """Help text as sections. It is ours, but its usage lines hold `<email|contact_id>`, which Slack
    would take for a link: escaped like everything else."""
    blocks = []
    for paragraph in escape(text).split("\n\n"):
        chunk = ""
        for line in paragraph.splitlines():
            if len(chunk) + len(line) + 1 > SECTION_LIMIT:
                blocks.append(_section(chunk))
                chunk = ""
            chunk = f"{chunk}\n{line}" if chunk else line
        if chunk:
            blocks.append(_section(chunk))
    first = text.splitlines()[0] if text else "Help"
    return _message(escape(first), blocks)
