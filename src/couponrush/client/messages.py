"""What a result code says to a person, in Korean or English: the server's own catalogues
(``couponrush/web/static/i18n``, shipped in the package), so the SDK and the API never
word a code differently. The code is what programs compare; these are for people.
"""

from __future__ import annotations

from couponrush.web.i18n import LANGUAGES, catalogue

__all__ = ["LANGUAGES", "message", "title"]


def _checked(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: one of {', '.join(LANGUAGES)}")
    return lang


def _known(result: str) -> bool:
    return f"results.{result}.detail" in catalogue("en")


def title(result: str, lang: str = "en") -> str:
    """The short name of ``result`` in ``lang`` (the code itself when it is not ours)."""
    return catalogue(_checked(lang)).title(result) if _known(result) else result


def message(result: str, lang: str = "en", fallback: str | None = None) -> str:
    """What ``result`` means in ``lang``; ``fallback`` (else the code) when it is not ours."""
    if _known(result):
        return catalogue(_checked(lang)).detail(result)
    _checked(lang)
    return fallback or result
