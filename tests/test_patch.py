"""The lock file's patches: the JSON Patch subset that rebuilds an environment's body."""

from __future__ import annotations

import pytest

from rtconfig._plan.patch import PatchError, apply_patch, diff_patch

BASE = {
    "session": {"audio": {"output": {"voice": "marin"}}, "tools": [{"name": "a"}], "x/y~z": 1},
    "expires_after": {"seconds": 600},
}


@pytest.mark.parametrize(
    "target",
    [
        BASE,
        {**BASE, "expires_after": {"seconds": 60}},
        {"session": {**BASE["session"], "audio": None}},  # null is a value, not a removal
        {"session": {"tools": [{"name": "a"}, {"name": "b"}], "x/y~z": 1.0}},
        {"session": {**BASE["session"], "x/y~z": True}},
        {},
    ],
)
def test_diff_then_apply_rebuilds_the_target(target: dict[str, object]) -> None:
    """apply_patch(base, diff_patch(base, target)) is target, with nulls, whole arrays, keys
    holding '/' and '~', and values Python calls equal but JSON does not (1, 1.0, true)."""
    patch = diff_patch(BASE, target)
    rebuilt = apply_patch(BASE, patch)
    assert rebuilt == target
    assert repr(rebuilt) == repr(target)
    assert BASE["expires_after"] == {"seconds": 600}  # the base is never changed


def test_patch_paths_are_json_pointers() -> None:
    """Paths are RFC 6901 pointers: '/' in a key is '~1', '~' is '~0'; arrays are replaced whole."""
    target = {"session": {**BASE["session"], "x/y~z": 2, "tools": []}, **{"e": 1}}
    assert diff_patch(BASE, target) == [
        {"op": "add", "path": "/e", "value": 1},
        {"op": "remove", "path": "/expires_after"},
        {"op": "replace", "path": "/session/tools", "value": []},
        {"op": "replace", "path": "/session/x~1y~0z", "value": 2},
    ]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"op": "add"}, "not a list"),
        ([{"op": "copy", "path": "/a", "from": "/b"}], "not an add, replace or remove"),
        ([{"op": "add", "path": "session"}], "no JSON Pointer path"),
        ([{"op": "add", "path": "/expires_after"}], "which is there already"),
        ([{"op": "remove", "path": "/nope"}], "which is not there"),
        ([{"op": "replace", "path": "/expires_after/seconds"}], "has no value"),
    ],
)
def test_patches_it_does_not_write_are_refused(patch: object, message: str) -> None:
    """Anything diff_patch never writes is a PatchError saying what is wrong."""
    with pytest.raises(PatchError, match=message):
        apply_patch(BASE, patch)
