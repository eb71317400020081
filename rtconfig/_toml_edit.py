"""Editing a tomlkit document in place, keeping what users wrote around each change.

Used by ``rtconfig migrate``: values are replaced keeping the key, its place and its comment;
new keys go where they are asked for; tables arrive as they are parsed, including tomlkit's
out-of-order proxies (a table split by other tables between its parts). One job: no knowledge
of sessions, endpoints or the beta→GA mapping lives here.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import tomlkit
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import InlineTable, Item, Table

__all__ = [
    "TABLE_LIKE",
    "TomlPath",
    "append_nested",
    "inline",
    "insert",
    "item_like",
    "navigate",
    "plain",
    "replace_key",
    "set_keeping_trivia",
    "tables",
]

TomlPath = tuple[str, ...]  # a key path in the TOML document (no array indices)

# A table split by another table between its parts (``[templates.a]``, ``[environments.x]``,
# ``[templates.b]``) comes back from tomlkit as an out-of-order proxy: a mapping over the parts,
# not a Table. Reading it, and setting a key that exists, work through the proxy.
TABLE_LIKE = (Table, InlineTable, OutOfOrderTableProxy)


def tables(node: Any) -> Iterator[tuple[str, Any]]:
    """The sub-tables of ``node`` (a table, an inline table or an out-of-order proxy)."""
    if isinstance(node, TABLE_LIKE):
        for key, value in list(node.items()):
            if isinstance(value, TABLE_LIKE):
                yield key, value
    return


def insert(table: Any, index: int, key: str, value: Any) -> None:
    """``key = value`` at ``index`` among the table's items (appended to an empty table)."""
    if index < len([k for k, _ in table.value.body if k is not None]):
        table.value._insert_at(index, key, value)
    else:
        table.append(key, value)


def append_nested(table: Any, path: TomlPath, value: Table) -> None:
    """Attach a header table at ``path`` below ``table``, creating super tables on the way."""
    node = table
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = tomlkit.table(is_super_table=True)
            node.append(part, child)
        node = child
    node.append(path[-1], value)


def replace_key(table: Any, key: str, path: TomlPath, item: Item) -> None:
    """Replace ``key`` by the (possibly dotted) key ``path`` holding ``item``, in place."""
    new_key = tomlkit.key(list(path)) if len(path) > 1 else tomlkit.key(path[0])
    table.value._replace(key, new_key, item)


def item_like(value: Any, old: Any) -> Item:
    """``value`` as a TOML item, inline, keeping the old item's comment."""
    item = inline(value)
    trivia = getattr(old, "trivia", None)
    if trivia is not None:
        item.trivia.comment_ws = trivia.comment_ws
        item.trivia.comment = trivia.comment
        item.trivia.trail = trivia.trail
    return item


def inline(value: Any) -> Item:
    """``value`` (plain Python) as an inline TOML item: tables inline, arrays on one line."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for key, sub in value.items():
            table.append(key, inline(sub))
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        for sub in value:
            array.append(inline(sub))
        return array
    item: Item = tomlkit.item(value)
    return item


def set_keeping_trivia(table: Any, key: str, value: Any) -> None:
    """Replace the value of an existing ``key``, keeping the key, its place and its comment
    (also through an out-of-order proxy, which sets it in the part that holds it)."""
    table[key] = item_like(value, table[key])


def plain(value: Any) -> Any:
    """A tomlkit item as plain Python (a plain value is returned as it is)."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def navigate(tdoc: Any, key: tuple[Any, ...]) -> Any:
    """The node at ``key`` below ``tdoc``, or None where the path stops."""
    node = tdoc
    for part in key:
        # Tables split by dotted keys and headers come back as tomlkit's out-of-order proxies.
        if not isinstance(node, MutableMapping) or part not in node:
            return None
        node = node[part]
    return node
