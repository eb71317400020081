"""One redaction step for everything rtconfig prints or returns from a server.

:class:`SecretRegistry` holds every secret of a run — the API key in use and each token minted
so far — and :meth:`SecretRegistry.scrub` cuts each of them out of a text in every form a server
or a formatter may give it: raw, stripped, JSON-escaped (``\\/``, ``\\u00XX`` for every
character), percent-encoded, base64 (standard and URL-safe, whole or inside a longer encoded
text such as a ``Basic`` credential). The CLI passes every line it prints through it, and the
applier every string it returns from a server (error type, param, code, message, headers, ids),
so a key echoed in ``x-request-id`` or a token quoted by a later error never reaches a terminal
or a log.

:func:`escape_controls` makes server text safe for a terminal: every control character (C0, DEL,
C1 — ESC starts CSI and OSC 52 clipboard writes, BEL and ST end them) and the Unicode bidi
controls become visible ``\\xNN``/``\\uNNNN`` escapes. :func:`for_terminal` does both.

Scrubbing costs one pass over the text per call, whatever the number of secrets: secrets are
indexed by their last 8 characters and only runs of token characters long enough are looked
at; the most recent ``max_secrets`` are kept (re-adding one refreshes it).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable

__all__ = [
    "REDACTED",
    "SecretRegistry",
    "escape_controls",
    "for_terminal",
    "json_for_terminal",
    "scrub_json",
]

REDACTED = "[REDACTED]"
_TAIL = 8
# Characters keys, tokens and their encoded forms are made of (``%`` and ``\\`` for escapes).
_RUN = re.compile(r"[A-Za-z0-9_.~+/=%\\-]+")
# bytes.translate table: run characters kept, every other byte a space (then bytes.split()).
_RUN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.~+/=%\\-")
_SEPARATE = bytes(c if c in _RUN_BYTES else 0x20 for c in range(256))
# Anything that looks like a key or a minted token, registered or not.
_LOOKS_SECRET = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}|\bek_[A-Za-z0-9_-]{16,}")
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class _Escapes(dict[int, str]):
    """``str.translate`` table writing every character as a ``\\uXXXX`` escape (in C, rather
    than a Python loop per character); characters are cached up to a bound."""

    def __init__(self, template: str) -> None:
        super().__init__()
        self.template = template

    def __missing__(self, code: int) -> str:
        escaped = self.template.format(code)
        if len(self) < 1024:
            self[code] = escaped
        return escaped


_LOWER = _Escapes("\\u{:04x}")
_UPPER = _Escapes("\\u{:04X}")


def _forms(secret: str) -> set[str]:
    core = secret.strip()
    forms = {secret, core}
    forms.add(json.dumps(core)[1:-1])  # JSON-escaped as json.dumps writes it
    forms.add(core.replace("/", "\\/"))  # JSON's optional escape of "/"
    forms.add(core.translate(_LOWER))  # every character \u-escaped
    forms.add(core.translate(_UPPER))
    forms.add(urllib.parse.quote(core, safe=""))
    forms.add(urllib.parse.quote_plus(core))
    forms |= _base64_forms(core)
    return {form for form in forms if len(form) >= 4}


def _base64_forms(core: str) -> set[str]:
    """The secret inside base64 text (a ``Basic`` header, an echoed or encoded body), standard
    and URL-safe, padded or not: encoded whole, and, for a secret inside a longer text, the run
    of its whole 3-byte groups at each of the three alignments it can start at. The one base64
    character at each edge of an embedded secret also encodes its neighbours' bits, and stays."""
    raw = core.encode("utf-8")
    chunks = {raw}
    for skip in range(3):
        body = raw[skip:]
        if len(body) >= 6:
            chunks.add(body[: len(body) - len(body) % 3])
    forms: set[str] = set()
    for chunk in chunks:
        standard = base64.b64encode(chunk).decode("ascii")
        urlsafe = base64.urlsafe_b64encode(chunk).decode("ascii")
        for text in (standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")):
            forms.update((text, text.replace("/", "\\/")))  # and JSON's optional "\/"
    return {form for form in forms if len(form) >= 8}


class SecretRegistry:
    """Every secret of a run, and one scrub that removes them all from a text (thread-safe)."""

    def __init__(self, secrets: Iterable[str] = (), *, max_secrets: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._max = max_secrets
        # secret -> its forms, oldest first (an OrderedDict: evicting the oldest is O(1); a
        # dict's first key after many deletions is found by scanning their dummies)
        self._recent: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._by_tail: dict[str, dict[str, int]] = {}  # last 8 characters -> forms (-> count)
        self._odd: tuple[str, ...] = ()  # forms with characters outside _RUN, longest first
        self._odd_counts: dict[str, int] = {}
        self._min_len = 1 << 30
        for secret in secrets:
            self.add(secret)

    def __repr__(self) -> str:
        return f"SecretRegistry({len(self._recent)} secrets)"

    def __len__(self) -> int:
        return len(self._recent)

    def add(self, secret: str | None) -> None:
        """Register ``secret`` (a key, a token); secrets shorter than 4 characters are ignored."""
        if not isinstance(secret, str) or len(secret.strip()) < 4:
            return
        with self._lock:
            if secret in self._recent:  # known: mark it recently used
                self._recent.move_to_end(secret)
                return
            forms = tuple(sorted(_forms(secret), key=len, reverse=True))
            self._recent[secret] = forms
            for form in forms:
                self._count(form, 1)
            while len(self._recent) > self._max:
                _, forgotten = self._recent.popitem(last=False)
                for form in forgotten:
                    self._count(form, -1)

    def _count(self, form: str, change: int) -> None:
        """Index ``form`` once more (1) or once less (-1): two secrets may share a form (``"k "``
        and ``"k"``), which stays indexed until neither is registered. Buckets are dicts (O(1)
        either way, however many forms share a tail) and scrub reads copies of them."""
        if len(form) >= _TAIL and _RUN.fullmatch(form):
            tail = form[-_TAIL:]
            bucket = self._by_tail.setdefault(tail, {})
            count = bucket.get(form, 0) + change
            if count > 0:
                bucket[form] = count
                self._min_len = min(self._min_len, len(form))
            else:
                bucket.pop(form, None)
                if not bucket:
                    del self._by_tail[tail]
            return
        count = self._odd_counts.get(form, 0) + change
        if count > 0:
            self._odd_counts[form] = count
        else:
            self._odd_counts.pop(form, None)
        if (count > 0) == (change > 0) and count in (0, 1):  # membership changed
            self._odd = tuple(sorted(self._odd_counts, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        """``text`` with every form of every registered secret replaced by ``[REDACTED]``."""
        if not isinstance(text, str):
            text = str(text)
        for form in self._odd:
            if form in text:
                text = text.replace(form, REDACTED)
        by_tail = self._by_tail
        shortest = self._min_len
        if not by_tail or len(text) < shortest or not self._may_hold(text, shortest):
            return text
        spans: list[tuple[int, int]] = []
        for run in _RUN.finditer(text):
            start, end = run.span()
            if end - start < shortest:
                continue
            for stop in range(start + shortest, end + 1):
                bucket = by_tail.get(text[stop - _TAIL : stop])
                if bucket is None:
                    continue
                for form in tuple(bucket):  # a copy: add() may change the bucket meanwhile
                    if stop - len(form) >= start and text.startswith(form, stop - len(form)):
                        spans.append((stop - len(form), stop))
                        break
        if not spans:
            return text
        out: list[str] = []
        position = 0
        for begin, stop in sorted(spans):
            if stop <= position:
                continue
            out.append(text[position : max(begin, position)])
            out.append(REDACTED)
            position = stop
        out.append(text[position:])
        return "".join(out)

    def _may_hold(self, text: str, shortest: int) -> bool:
        """Whether a run of ``text`` ends in a registered tail: the common "no" is found mostly
        in C (runs split out by ``bytes.translate``, each run's windows as a set against the
        index's keys), and only a "yes" pays for the exact walk. A form ends at least
        ``shortest`` characters into its run, so earlier windows are not looked at."""
        tails = self._by_tail.keys()
        for word in text.encode("ascii", "replace").translate(_SEPARATE).split():
            size = len(word)
            if size < shortest:
                continue
            run = word.decode("ascii")
            if not tails.isdisjoint({run[end - _TAIL : end] for end in range(shortest, size + 1)}):
                return True
        return False

    def scrub_all(self, text: str) -> str:
        """:meth:`scrub`, then anything that merely looks like a key or a token (``sk-…``,
        ``ek_…``): for text that must hold no secret at all (stderr, error messages)."""
        text = self.scrub(text)
        if "sk-" in text or "ek_" in text:
            text = _LOOKS_SECRET.sub(REDACTED, text)
        return text


def scrub_json(value: object, registry: SecretRegistry) -> object:
    """A parsed JSON value with every registered secret cut out of its strings (keys
    included), by scrubbing its JSON text: one pass, whatever the depth. A value that cannot be
    written back (nested too deeply) is replaced whole."""
    if not len(registry):
        return value
    try:
        text = json.dumps(value, ensure_ascii=False)
        scrubbed = registry.scrub(text)
        return value if scrubbed == text else json.loads(scrubbed)
    except (ValueError, TypeError, RecursionError):
        return REDACTED


# C1 controls, DEL and bidi controls, which json.dumps(ensure_ascii=False) writes raw.
_JSON_RAW_CONTROLS = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def json_for_terminal(text: str) -> str:
    """JSON text with the controls ``json.dumps`` leaves raw written as ``\\uXXXX`` escapes:
    the same JSON value, but a terminal shown it obeys nothing (C1 CSI, bidi overrides)."""
    if not _JSON_RAW_CONTROLS.search(text):
        return text
    return _JSON_RAW_CONTROLS.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def escape_controls(text: str) -> str:
    """``text`` with every control character (C0 but tab and newline, DEL, C1) and bidi control
    shown as an escape (``\\x1b``, ``\\u202e``): server text cannot drive the terminal."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text
    )


def for_terminal(text: str, registry: SecretRegistry | None = None) -> str:
    """What may be printed for people: secrets cut out, then control characters escaped."""
    if registry is not None:
        text = registry.scrub_all(text)
    elif "sk-" in text or "ek_" in text:
        text = _LOOKS_SECRET.sub(REDACTED, text)
    return escape_controls(text)
