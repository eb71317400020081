"""The shared vocabulary: one key-path type, one "missing" sentinel, one ``name [env]`` label."""

from __future__ import annotations

import copy
import pickle

from rtconfig._keys import MISSING, format_path, label


def test_missing_is_one_falsy_instance_that_survives_copies() -> None:
    """MISSING is distinct from None, falsy, and stays the same object through copy and pickle."""
    assert MISSING is not None and not MISSING and repr(MISSING) == "MISSING"
    assert copy.deepcopy(MISSING) is MISSING
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert type(MISSING)() is MISSING


def test_label_and_format_path() -> None:
    """``support [production]``, ``support`` in the default environment; paths as users write."""
    assert label("support", "production") == "support [production]"
    assert label("support", None) == "support"
    assert format_path(("tools", 0, "name")) == "tools[0].name"
    assert format_path(()) == ""
