"""What may go into a request's headers and URL: checked before anything is sent.

httpx encodes header values as ASCII: a key pasted with smart quotes or an ``organization`` of
``Acmé`` would raise deep inside the transport (exit 70, an audit log without
``apply.finished``), and a CR or LF would be an attempt to inject a header. Both are refused
here with a message that names the setting and never quotes the value (it may be the key).

A base URL carrying credentials (``https://user:password@host``) is refused whatever its
scheme's case, leading spaces or scheme: :func:`url_has_credentials` is asked *first*, before
any message that would quote the URL.
"""

from __future__ import annotations

import re

__all__ = ["header_value_problem", "url_has_credentials"]

# Visible ASCII and the space: what an HTTP header value may hold (RFC 9110 field-vchar).
_HEADER_SAFE = re.compile(r"[\x20-\x7e]*")
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
_AUTHORITY_END = re.compile(r"[/?#\\]")


def header_value_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot be sent as the header carrying ``what``, or None. Never quotes it."""
    if _HEADER_SAFE.fullmatch(value):
        if value != value.strip():
            return f"{what} starts or ends with white space (pasted with a newline or a space?)"
        return None
    bad = next(ch for ch in value if not _HEADER_SAFE.fullmatch(ch))
    position = value.index(bad) + 1
    if bad in "\r\n":
        kind = "a line break (CR or LF)"
    elif ord(bad) < 0x20 or ord(bad) == 0x7F:
        kind = f"a control character (U+{ord(bad):04X})"
    else:
        kind = f"a character that is not ASCII (U+{ord(bad):04X})"
    return (
        f"{what} holds {kind} at character {position}; HTTP headers carry printable ASCII "
        "only (was it pasted with smart quotes or a line break?)"
    )


def url_has_credentials(url: str) -> bool:
    """Whether ``url`` carries a user name, a password or a key, in any scheme or case.

    ``https://user:pw@host``, ``HTTPS://…``, `` https://…`` (a leading space), ``ftp://…@``, and
    a string without ``//`` whose part before the first ``/`` holds an ``@`` all count.
    """
    if _KEY_LIKE.search(url):
        return True
    text = url.strip(" \t\r\n\x0b\x0c\x00")
    _, separator, rest = text.partition("//")
    authority = _AUTHORITY_END.split(rest if separator else text, maxsplit=1)[0]
    return "@" in authority or "%40" in authority.lower()
