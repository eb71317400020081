"""A `"*"` overlay key that every template overrides does nothing, and says so (issue 15,
item 10): a reader of `expires_after.seconds = 60` in staging's `"*"` would believe staging's
tokens last 60 s."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import rtconfig
from rtconfig._cli import main

SHADOWED = """\
[api]
endpoint = "realtime/client_secrets"

[templates.support]
type = "realtime"
model = "gpt-realtime-2.1"
expires_after = { anchor = "created_at", seconds = 600 }

[templates.sales]
type = "realtime"
model = "gpt-realtime-2.1"
expires_after = { anchor = "created_at", seconds = 300 }

[environments.staging.templates."*"]
expires_after.seconds = 60
tracing = "auto"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sessions.toml"
    path.write_text(text)
    return path


def test_a_star_key_every_template_overrides_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """`expires_after.seconds` in staging's "*" is set by both templates: one warning at its
    line naming the templates; `tracing`, which they take from "*", gets none."""
    path = _write(tmp_path, SHADOWED)
    check = rtconfig.load(path).check(environ={})
    assert check.errors == ()
    (warning,) = check.warnings
    assert (warning.line, warning.env, warning.path) == (15, "staging", "expires_after.seconds")
    assert warning.template == "*"
    assert "has no effect: every template sets it itself (support, sales)" in warning.message
    result = CliRunner().invoke(main, ["validate", str(path), "--strict"])
    assert result.exit_code == 1
    assert f"{path}:15:1: warning: * [staging]: expires_after.seconds:" in result.stderr


def test_a_star_key_one_template_takes_is_fine(tmp_path: Path) -> None:
    """When at least one template takes the "*" value, the overlay has an effect: no warning."""
    text = SHADOWED.replace('expires_after = { anchor = "created_at", seconds = 300 }\n', "")
    check = rtconfig.load(_write(tmp_path, text)).check(environ={})
    assert check.diagnostics == ()


def test_an_environment_overlay_of_a_template_also_shadows_star(tmp_path: Path) -> None:
    """A template's own environment overlay sits above "*" too: when it sets the key for the
    only template taking it from "*", the "*" key does nothing."""
    text = SHADOWED.replace('expires_after = { anchor = "created_at", seconds = 300 }\n', "")
    text += "\n[environments.staging.templates.sales]\nexpires_after.seconds = 120\n"
    (warning,) = rtconfig.load(_write(tmp_path, text)).check(environ={}).warnings
    assert warning.path == "expires_after.seconds"


def test_no_warning_when_only_some_templates_are_checked(tmp_path: Path) -> None:
    """With a template selection (`plan -t support`) the other templates are not in view, so
    rtconfig cannot know the key does nothing and stays quiet."""
    config = rtconfig.load(_write(tmp_path, SHADOWED))
    check = config.check(envs=["staging"], templates=["support"], environ={})
    assert check.diagnostics == ()


def test_the_warning_names_ten_templates_and_counts_the_rest(tmp_path: Path) -> None:
    """With many templates the warning names the first ten and says how many more (a file of
    10,000 templates once printed every name, three times)."""
    many = "".join(
        f'[templates.t{i}]\ntype = "realtime"\nmodel = "gpt-realtime-2.1"\n'
        'expires_after = { anchor = "created_at", seconds = 600 }\n\n'
        for i in range(25)
    )
    text = '[api]\nendpoint = "realtime/client_secrets"\n\n' + many
    text += '[environments.staging.templates."*"]\nexpires_after.seconds = 60\n'
    (warning,) = rtconfig.load(_write(tmp_path, text)).check(environ={}).warnings
    shown = ", ".join(f"t{i}" for i in range(10))
    assert f"every template sets it itself ({shown}, … and 15 more)" in warning.message
    assert "t10" not in warning.message
