"""Slack's Block Kit limits, checked the way Slack refuses a message or view (`invalid_blocks`), so a test
against the fake fails where Slack would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100


def _text(node: Any) -> str:
    return node.get("text", "") if isinstance(node, Mapping) else str(node or "")


def message_problems(blocks: Sequence[Any] | None, text: str | None = None) -> list[str]:
    problems = _blocks(blocks or [], MESSAGE_BLOCKS)
    if text is not None and len(text) > 40_000:
        problems.append("text is over 40,000 characters")
    return problems


def view_problems(view: Mapping[str, Any]) -> list[str]:
    problems = _blocks(view.get("blocks") or [], VIEW_BLOCKS)
    for key in ("title", "submit", "close"):
        if key in view and len(_text(view[key])) > 24:
            problems.append(f"view {key} is over 24 characters")
    if len(view.get("private_metadata") or "") > 3000:
        problems.append("private_metadata is over 3,000 characters")
    if len(view.get("callback_id") or "") > 255:
        problems.append("callback_id is over 255 characters")
    return problems


def _blocks(blocks: Sequence[Any], limit: int) -> list[str]:
    problems = [f"{len(blocks)} blocks; the limit is {limit}"] if len(blocks) > limit else []
    for index, block in enumerate(blocks):
        problems += [f"block {index} ({block.get('type')}): {problem}" for problem in _block(block)]
    return problems


def _block(block: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    kind = block.get("type")
    if len(block.get("block_id") or "") > 255:
        problems.append("block_id over 255 characters")
    if kind == "section":
        if len(_text(block.get("text"))) > 3000:
            problems.append("text over 3,000 characters")
        fields = block.get("fields") or []
        if len(fields) > 10:
            problems.append(f"{len(fields)} fields; the limit is 10")
        problems += ["field over 2,000 characters" for field in fields if len(_text(field)) > 2000]
        if not block.get("text") and not fields:
            problems.append("a section needs text or fields")
    elif kind == "header" and len(_text(block.get("text"))) > 150:
        problems.append("header over 150 characters")
    elif kind == "context" and len(block.get("elements") or []) > 10:
        problems.append("more than 10 context elements")
    elif kind == "actions":
        elements = block.get("elements") or []
        if len(elements) > 25:
            problems.append(f"{len(elements)} elements; the limit is 25")
        ids = [element.get("action_id") for element in elements if element.get("action_id")]
        if len(ids) != len(set(ids)):
            problems.append("action_ids repeat within the block")
        for element in elements:
            problems += _element(element)
    elif kind == "input":
        if len(_text(block.get("label"))) > 2000 or len(_text(block.get("hint"))) > 2000:
            problems.append("label or hint over 2,000 characters")
        problems += _element(block.get("element") or {})
    return problems


def _element(element: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    kind = element.get("type")
    if kind == "button":
        if len(_text(element.get("text"))) > 75:
            problems.append("button text over 75 characters")
        if len(element.get("value") or "") > 2000:
            problems.append("button value over 2,000 characters")
    confirm = element.get("confirm")
    if confirm and (len(_text(confirm.get("title"))) > 100 or len(_text(confirm.get("text"))) > 300):
        problems.append("confirm dialog title over 100 or text over 300 characters")
    options = element.get("options") or []
    if len(options) > 100:
        problems.append(f"{len(options)} options; the limit is 100")
    for option in options:
        if len(_text(option.get("text"))) > 75 or len(option.get("value") or "") > 150:
            problems.append("option text over 75 or value over 150 characters")
    if len(element.get("initial_value") or "") > 3000:
        problems.append("initial_value over 3,000 characters")
    if len(_text(element.get("placeholder"))) > 150:
        problems.append("placeholder over 150 characters")
    return problems
