"""Progress of a run, as typed values the engine hands to a callback while it works (the CLI
renders them on stderr). Finished mints are reported by ``on_result`` with their
:class:`~rtconfig._apply.results.MintResult`; this module holds what happens in between."""

from __future__ import annotations

from dataclasses import dataclass

from rtconfig._endpoints import Endpoint

__all__ = ["MintRetrying"]


@dataclass(frozen=True, slots=True)
class MintRetrying:
    """A mint failed in a way worth retrying and will be tried again after ``delay_s``.

    ``attempt`` is the number of the attempt about to be made (2 after the first failed);
    ``reason`` says what the failed one got, the way a person would: ``"429"``, ``"HTTP 503"``,
    ``"timeout"``, ``"connection error"``.
    """

    template: str
    env: str | None
    endpoint: Endpoint
    attempt: int
    reason: str
    http_status: int | None
    delay_s: float

    @property
    def label(self) -> str:
        return self.template + (f" [{self.env}]" if self.env else "")
