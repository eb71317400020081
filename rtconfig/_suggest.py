"""'Did you mean' suggestions, shared by every stage that reports an unknown name."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, candidates: Iterable[str], *, fold_case: bool = True) -> str | None:
    """The candidate closest to ``word``, or None when none is close. With ``fold_case``, a
    candidate that differs only in case (or is close once both are lower-cased) also counts."""
    import difflib  # only a misspelling pays for it

    pool = list(candidates)
    match = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if match:
        return match[0]
    if not fold_case:
        return None
    lowered = {c.lower(): c for c in pool}
    folded = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[folded[0]] if folded else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""`` when none is close."""
    match = closest(word, candidates)
    return f" (did you mean {match!r}?)" if match is not None else ""
