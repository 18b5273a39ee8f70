"""Help derived from the declarations: an overview with one example per operation, and every key
of one resource. Plain text with `code` spans, readable in a terminal and in Slack."""

from __future__ import annotations

from collections.abc import Sequence

from bot.operation import Operation, Param, Registry
from bot.problems import CommandError


def overview(registry: Registry, connections: Sequence[str] = ()) -> str:
    lines = ["Write `<resource> <verb> …`. One example per operation:"]
    lines += [f"• {op.title}: `{op.examples[0]}`" for op in registry]
    resources = ", ".join(f"`{resource.name}`" for resource in registry.resources)
    lines.append(f"`help <resource>` lists every key of {resources}.")
    if len(connections) > 1:
        names = ", ".join(f"`{name}`" for name in connections)
        lines.append(f"Add `via=<connection>` to any command to choose where it goes: {names}.")
    return "\n".join(lines)


def resource_help(registry: Registry, word: str) -> str:
    resource = registry.resource(word)
    if resource is None:
        names = ", ".join(f"`{item.name}`" for item in registry.resources)
        raise CommandError(f"There is no help on `{word}`. Ask about one of {names}.")
    operations = registry.for_resource(resource.name)
    sections = [operation_help(op) for op in operations]
    # What takes no key at all: `order refund INV-7 20`, `subscription cancel SUB-1`, `contact deactivate …`.
    actions = [op for op in operations if not op.reads and all(spec.name in op.by_position for spec in op.params)]
    if actions:
        listed = "; ".join(f"`{op.usage()}` ({op.title.lower()})" for op in actions)
        sections.insert(0, f"One-word actions: {listed}.")
    return "\n\n".join(sections)


def operation_help(op: Operation) -> str:
    verbs = " | ".join(op.verbs)
    lines = [f"*{op.title}* (`{op.resource} {verbs}`): {op.description}", f"Usage: `{op.usage()}`"]
    if op.edits and op.changes is not None:
        lines.append(
            f"Keys: those of `{op.changes.name}`, each optional: only the ones given change. When the bot has no "
            "record of it (it keeps the last one it sent), the form of the whole record opens instead, and "
            "nothing is assumed."
        )
    else:
        lines += [_param_line(spec, op.by_position) for spec in op.params]
    if op.changes is not None and not op.edits:
        lines.append(
            f"Changes only that: the rest stays as the bot last sent it. When the bot has no record of it, the "
            f"form of `{op.resource} update` opens instead."
        )
    lines.append("Examples:")
    lines += [f"  `{example}`" for example in op.examples]
    return "\n".join(lines)


def _param_line(spec: Param, positional: frozenset[str]) -> str:
    words = [f"{spec.prefix}.<name>="] if spec.prefix else [spec.name, *spec.aliases]
    keys = " / ".join(f"`{word}`" for word in words)
    if spec.name in positional:
        keys += " (or by position)"
    need = "required" if spec.required else (f"default `{spec.default}`" if spec.default else "optional")
    line = f"• {keys}: {spec.title}, {need}."
    if spec.hint:
        line += f" {spec.hint}"
    options = spec.kind.options()
    if options:
        line += " One of " + ", ".join(f"`{value}`" for value, _ in options) + "."
    elif spec.example:
        line += f" e.g. `{spec.example}`"
    return line
