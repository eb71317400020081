"""MkDocs hooks (mkdocs.yml `hooks:`): placeholder pages for documents others maintain.

docs/performance.md and docs/security.md are written by other people; until they exist the
site still builds, with a page saying so. Nothing is ever written into docs/.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

PLACEHOLDERS = {
    "performance.md": "# Performance\n\nThis page is being written. Until then, see `bench/` in "
    "the repository for the latency, scale and mint-throughput benchmarks.\n",
    "security.md": "# Security\n\nThis page is being written. In short: API keys live only in "
    "the environment (`[api].api_key_env` names the variable), never in `sessions.toml`; "
    "tokens and keys never reach logs, stderr or the audit log; `http://` is refused except "
    "to loopback hosts.\n",
}


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    for name, text in PLACEHOLDERS.items():
        if files.get_file_from_path(name) is None:
            files.append(File.generated(config, name, content=text))
    return files
