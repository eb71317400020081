"""Rendering a :class:`~rtconfig._plan.records.Plan` (and drift) as text or JSON.

The text follows Terraform's conventions: ``+`` new, ``~`` changed, ``-`` removed; fields at their
documented default and unchanged fields are hidden behind a ``# (N … hidden)`` line; long strings
that changed are shown as a unified line diff; a summary line closes the plan. Rendering makes no
decision: everything it shows is in the plan, and the caller says whether to use colour.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from typing import Any

from rtconfig._plan.drift import Drift, DriftKind, Lockable, drift
from rtconfig._plan.lock import Lock, LockEntry
from rtconfig._plan.records import (
    FieldChange,
    Plan,
    PlannedField,
    PlanRecord,
    env_label,
    label,
)

__all__ = [
    "lock_check_lines",
    "lock_staleness",
    "locked_mismatches",
    "plan_json",
    "render_text",
]

# Inline values longer than this are laid out over several lines.
INLINE_WIDTH = 72
# Paths longer than this do not widen the ``=`` column of their block.
ALIGN_LIMIT = 36
# A new multi-line string shows this many lines unless the caller asked for everything.
PREVIEW_LINES = 4

_STYLES = {
    "+": "\x1b[32m",  # green
    "~": "\x1b[33m",  # yellow
    "-": "\x1b[31m",  # red
    "#": "\x1b[2m",  # dim
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"


# --- JSON ------------------------------------------------------------------------------------


def plan_json(plan: Plan, *, origins: bool = False) -> dict[str, Any]:
    """The contract's ``plan --json`` document, plus the lock diff and a summary; ``origins``
    adds where each value came from (``plan --json --explain``: finding the line of every value
    costs more than planning itself on large files)."""
    return {
        "format_version": plan.format_version,
        "file": plan.config_file,
        "envs": list(plan.envs),
        "lock_file": plan.lock_file if plan.locked else None,
        "templates": [_template_json(t, origins) for t in plan.templates],
        "removed": [_removed_json(r) for r in plan.removed],
        "summary": {
            # apply mints every template of the plan, whatever the lock file says
            "to_mint": len(plan.templates),
            "new": plan.count("new"),
            "changed": plan.count("changed"),
            "unchanged": plan.count("unchanged"),
            "removed": len(plan.removed),
            "templates": len(plan.templates),
        },
        "differs_from_lock": plan.differs_from_lock,
    }


def _template_json(t: PlanRecord, origins: bool) -> dict[str, Any]:
    overrides: list[dict[str, Any]] = []
    redundant: list[dict[str, Any]] = []
    for f in t.fields:
        if f.redundant:
            item = {"path": f.dotted, "value": f.value}
            redundant.append(item)
        else:
            item = {
                "path": f.dotted,
                "value": f.value,
                "default": f.default,
                "has_default": f.has_default,
            }
            overrides.append(item)
        if origins:
            item["origin"] = f.origin.to_json()
    changes: list[dict[str, Any]] = []
    for c in t.changes:
        change = {"path": c.dotted, "action": c.action, "before": c.before, "after": c.after}
        if origins:
            change["origin"] = c.origin.to_json() if c.origin is not None else None
        changes.append(change)
    return {
        "name": t.name,
        "env": t.env,
        "endpoint": t.endpoint.value,
        "description": t.description,
        "body": t.body,
        "sha256": t.body_sha256,
        "session_sha256": t.session_sha256,
        "carriers": _carriers(t),
        "overrides": overrides,
        "redundant": redundant,
        "lock_status": t.lock_status,
        "locked_sha256": t.locked_sha256,
        "changes": changes,
    }


def _removed_json(r: LockEntry) -> dict[str, Any]:
    return {
        "name": r.name,
        "env": r.env,
        "endpoint": r.endpoint.value,
        "body": r.body,
        "sha256": r.body_sha256,
        "session_sha256": r.session_sha256,
        "lock_status": "removed",
    }


# --- text ------------------------------------------------------------------------------------


class _Out:
    """Lines of text, coloured or not."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, style: str) -> str:
        if not self.color or style not in _STYLES:
            return text
        return f"{_STYLES[style]}{text}{_RESET}"

    def add(self, line: str = "") -> None:
        self.lines.append(line)


def render_text(
    plan: Plan, *, color: bool = False, explain: bool = False, title: str | None = None
) -> str:
    """The plan for a terminal. ``explain`` adds where each value came from and lists the
    fields that are hidden otherwise (unchanged templates, fields at their default).
    ``title`` replaces the first line (``rtconfig show`` names the saved plan there)."""
    out = _Out(color)
    where = plan.config_file or "the configuration"
    envs = ", ".join(e if e is not None else "default environment" for e in plan.envs)
    against = f"against {plan.lock_file}" if plan.locked else "(no lock file to compare with)"
    out.add(title or f"rtconfig plan: {where} [{envs}] {against}")
    out.add()
    for t in plan.templates:
        if t.lock_status == "unchanged" and not explain:
            continue
        _template(out, t, plan, explain)
        out.add()
    for r in plan.removed:
        _removed(out, r, plan)
        out.add()
    out.add(out.style(_summary(plan), "bold"))
    return "\n".join(out.lines) + "\n"


def _summary(plan: Plan) -> str:
    """What apply would do: it mints every template of the plan (a new session each time);
    the parenthesis says how each compares with the lock file."""
    new, changed, unchanged = plan.count("new"), plan.count("changed"), plan.count("unchanged")
    total = len(plan.templates)
    if not plan.locked:
        return (
            f"Plan: {total} to mint (no lock file to compare with: "
            f"`rtconfig lock {plan.config_file or 'FILE'}` writes one)."
        )
    text = (
        f"Plan: {total} to mint ({new} new, {changed} changed, {unchanged} unchanged since the lock"
    )
    if plan.removed:
        text += f"; {len(plan.removed)} removed from the file"
    return text + ")."


def _carriers(t: PlanRecord) -> list[str]:
    """How this template's session can reach OpenAI (CONTRACT §10): token, webrtc, sip,
    session.update."""
    from rtconfig._carriers import carriers_of

    return [carrier.value for carrier in carriers_of(t.endpoint, t.body)]


def _template(out: _Out, t: PlanRecord, plan: Plan, explain: bool) -> None:
    lock = plan.lock_file or "the lock file"
    if t.lock_status == "changed":
        symbol, comment = "~", f"{t.label} changed since {lock}"
    elif t.lock_status == "unchanged":
        symbol, comment = " ", f"{t.label} is unchanged"
    elif t.lock_status == "new":
        symbol, comment = "+", f"{t.label} is new: not in {lock}"
    else:
        symbol, comment = "+", f"{t.label} will be minted"
    if t.description:
        comment += f" ({t.description})"
    out.add("  " + out.style(f"# {comment}", "#"))
    out.add(
        "  "
        + out.style(symbol, symbol)
        + f" template {label(_quoted(t.name), t.env)} -> POST {t.endpoint.value}"
    )
    if explain:
        carriers = ", ".join(_carriers(t))
        out.add("      " + out.style(f"# carriers: {carriers}", "#"))
    if t.lock_status == "changed" and t.changes:
        width = _width([c.dotted for c in t.changes])
        for change in t.changes:
            _change(out, change, width, explain)
        hidden = len(t.fields) - sum(1 for c in t.changes if c.action != "remove")
        if hidden > 0:
            out.add("      " + out.style(f"# ({_n(hidden, 'unchanged field')} hidden)", "#"))
        return
    marker = " " if t.lock_status == "unchanged" else "+"
    shown = t.fields if explain else t.overrides
    width = _width([f.dotted for f in shown])
    for f in shown:
        _field(out, marker, f, width, explain)
    hidden = len(t.fields) - len(shown)
    if hidden:
        out.add("      " + out.style(f"# ({_n(hidden, 'field')} at their default hidden)", "#"))


def _quoted(name: str) -> str:
    return f'"{name}"'


def _removed(out: _Out, r: LockEntry, plan: Plan) -> None:
    lock = plan.lock_file or "the lock file"
    where = plan.config_file or "the configuration"
    out.add(
        "  " + out.style(f"# {label(r.name, r.env)} is in {lock} but no longer in {where}", "#")
    )
    out.add(
        "  "
        + out.style("-", "-")
        + f" template {label(_quoted(r.name), r.env)} -> POST {r.endpoint.value}"
    )


def _field(out: _Out, marker: str, f: PlannedField, width: int, explain: bool) -> None:
    # Beside an override, the spec default it replaces (as Terraform shows the prior value).
    note = f"default {_short(f.default)}" if f.has_default and not f.redundant else ""
    if explain:
        where = f"from {f.origin.describe()}"
        if f.redundant:
            note = "the spec default: redundant, " + where
        else:
            note = f"{note}, {where}" if note else where
    _assignment(out, marker, f.dotted, f.value, width, note, preview=not explain)


def _change(out: _Out, c: FieldChange, width: int, explain: bool) -> None:
    note = f"from {c.origin.describe()}" if explain and c.origin is not None else ""
    if c.action == "add":
        _assignment(out, "+", c.dotted, c.after, width, note, preview=False)
    elif c.action == "remove":
        _assignment(out, "-", c.dotted, c.before, width, note, preview=False)
    elif _is_long_text(c.before) and _is_long_text(c.after):
        _text_diff(out, c.dotted, c.before, c.after, note)
    else:
        _update(out, c.dotted, c.before, c.after, width, note)


def _assignment(
    out: _Out, marker: str, path: str, value: Any, width: int, note: str, *, preview: bool
) -> None:
    """``  + path = value  # note``, laying long values out over several lines."""
    lead = "      " + out.style(marker, marker) + " "
    suffix = "  " + out.style(f"# {note}", "#") if note else ""
    if isinstance(value, str) and _is_long_text(value):
        lines = value.splitlines() or [""]
        out.add(f"{lead}{path.ljust(width)} = <<-EOT{suffix}")
        limit = PREVIEW_LINES if preview else len(lines)
        for line in lines[:limit]:
            out.add(f"          {line}" if line else "")
        if len(lines) > limit:
            more = len(lines) - limit
            out.add("          " + out.style(f"# ({_n(more, 'more line')}, -v shows all)", "#"))
        out.add("        EOT")
        return
    inline = _json(value)
    if len(inline) <= INLINE_WIDTH:
        out.add(f"{lead}{path.ljust(width)} = {inline}{suffix}")
        return
    block = _pretty(value)
    out.add(f"{lead}{path.ljust(width)} = {block[0]}{suffix}")
    for line in block[1:]:
        out.add(f"        {line}")


def _update(out: _Out, path: str, before: Any, after: Any, width: int, note: str) -> None:
    lead = "      " + out.style("~", "~") + " "
    suffix = "  " + out.style(f"# {note}", "#") if note else ""
    old, new = _json(before), _json(after)
    if len(old) + len(new) + 4 <= INLINE_WIDTH:
        out.add(f"{lead}{path.ljust(width)} = {old} -> {new}{suffix}")
        return
    # Long structured values: a line diff of their pretty JSON, like a text diff.
    _line_diff(
        out,
        f"{lead}{path}{suffix}",
        _pretty(before, sort_keys=True),  # a lock file's keys are sorted: compare like with like
        _pretty(after, sort_keys=True),
        context=3,  # enough structure around the change to tell where it is
    )


def _text_diff(out: _Out, path: str, before: str, after: str, note: str) -> None:
    lead = "      " + out.style("~", "~") + " "
    suffix = "  " + out.style(f"# {note}", "#") if note else ""
    _line_diff(out, f"{lead}{path}{suffix}", before.splitlines(), after.splitlines())


def _line_diff(
    out: _Out, title: str, before: Sequence[str], after: Sequence[str], context: int = 1
) -> None:
    out.add(title)
    for line in difflib.unified_diff(before, after, lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        kind = line[:1]
        style = {"@": "#", "-": "-", "+": "+"}.get(kind, "")
        out.add("          " + (out.style(line, style) if style else line))


def _short(value: Any, limit: int = 40) -> str:
    text = _json(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_long_text(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > INLINE_WIDTH)


def _json(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=sort_keys)


def _pretty(value: Any, *, sort_keys: bool = False, width: int = 88) -> list[str]:
    """JSON over several lines, each table or array kept on one line when it fits in ``width``
    (so a tool's small ``properties`` stay readable instead of taking a line per brace)."""
    lines: list[str] = []

    def emit(item: Any, indent: int, lead: str, tail: str) -> None:
        inline = lead + _json(item, sort_keys) + tail
        if not isinstance(item, dict | list) or not item or indent + len(inline) <= width:
            lines.append(" " * indent + inline)
            return
        pad = " " * indent
        if isinstance(item, dict):
            lines.append(pad + lead + "{")
            keys = sorted(item) if sort_keys else list(item)
            for i, key in enumerate(keys):
                comma = "," if i < len(keys) - 1 else ""
                emit(item[key], indent + 2, _json(key) + ": ", comma)
            lines.append(pad + "}" + tail)
        else:
            lines.append(pad + lead + "[")
            for i, element in enumerate(item):
                emit(element, indent + 2, "", "," if i < len(item) - 1 else "")
            lines.append(pad + "]" + tail)

    emit(value, 0, "", "")
    return lines


def _width(paths: Sequence[str]) -> int:
    fitting = [len(p) for p in paths if len(p) <= ALIGN_LIMIT]
    return max(fitting, default=0)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


# --- drift -----------------------------------------------------------------------------------


def lock_check_lines(drifts: Sequence[Drift], lock_file: str) -> list[str]:
    """``lock --check``: one line per stale, missing or removed pair (empty when fresh)."""
    out: list[str] = []
    for d in drifts:
        where = f"{d.template} {env_label(d.env)}"
        if d.kind is DriftKind.NO_LOCK:
            out.append(f"{lock_file} does not exist: run `rtconfig lock` to write it")
        elif d.kind is DriftKind.NEW:
            out.append(f"missing: {where} is not in {lock_file}")
        elif d.kind is DriftKind.ENDPOINT and d.endpoint is not None and d.locked is not None:
            out.append(
                f"stale: {where}: endpoint is now {d.endpoint.value} "
                f"(locked: {d.locked.endpoint.value})"
            )
        elif d.kind is DriftKind.BODY:
            out.append(f"stale: {where}: body differs from {lock_file}")
        elif d.kind is DriftKind.REMOVED:
            out.append(f"removed: {where} is in {lock_file} but no longer in the config")
    return out


def lock_staleness(current: Lock, recorded: Lock | None, lock_file: str) -> list[str]:
    """``lock --check``: why ``recorded`` does not match ``current`` (every pair of the file is
    covered, so locked pairs no longer produced are reported as removed)."""
    found = drift(current.entries, recorded, removable=lambda entry: True)
    return lock_check_lines(found, lock_file)


def locked_mismatches(
    records: Sequence[Lockable], lock: Lock | None, lock_file: str = "the lock file"
) -> list[str]:
    """``apply --locked``: why each record's body is not the one the lock records (empty when
    every one is locked with exactly this endpoint and body)."""
    out: list[str] = []
    for d in drift(records, lock):
        where = f"{d.template} {env_label(d.env)}"
        if d.kind is DriftKind.NO_LOCK:
            out.append(f"{lock_file} does not exist: run `rtconfig lock` first")
        elif d.kind is DriftKind.NEW:
            out.append(f"{where} is not in {lock_file}")
        elif d.kind is DriftKind.ENDPOINT and d.endpoint is not None and d.locked is not None:
            out.append(
                f"{where}: endpoint {d.endpoint.value} differs from {lock_file} "
                f"({d.locked.endpoint.value})"
            )
        elif d.kind is DriftKind.BODY:
            out.append(
                f"{where}: body differs from {lock_file} (`rtconfig plan` shows how; "
                "`rtconfig lock` accepts it)"
            )
    return out
