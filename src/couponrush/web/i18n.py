"""Korean and English: the one catalogue per language and the one rule that picks one.

The catalogues are ``static/i18n/<lang>.json``: the pages' strings (the pages get their
sections, web/pages.py), the title and detail of every ``result`` code (problem bodies,
the SDK's messages) and the details that name a value. Each is read once per process,
with the standard library alone: the SDK's own distribution (clients/python) ships this
module and the catalogues too.

The rule picks a language from ``Accept-Language``: Korean when the first listed range
that is Korean or English (``ko``, ``ko-KR``, ``en-US``, ...) with a q above 0 is Korean;
English otherwise: when the header is absent, and when it is over 256 characters (it is
not read). Browsers list their languages most wanted first, so for them this is the
q-value order; for anything else it is at least the same answer everywhere: the gateway's
map (deploy/nginx/couponrush.conf.template) and its Lua (lua/couponrush/lang.lua) match
the same expression, and a test holds the copies equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

CATALOGUES = Path(__file__).parent / "static" / "i18n"
LANGUAGES = ("en", "ko")
DEFAULT = "en"
# Ranges that do not decide: another language, or Korean or English with q=0.
# Each matches a range in one way only, so a long header cannot make the match backtrack.
_SKIP = r"(?:(?!\s*(?:ko|en)\b)[^,]*|\s*(?:ko|en)\b[^,;]*;\s*q\s*=\s*0(?:\.0*)?\s*)"
KOREAN_FIRST = (
    r"^(?=.{0,256}$)(?:" + _SKIP + r",)*\s*ko\b[^,;]*"
    r"(?:;\s*q\s*=\s*(?!0(?:\.0*)?\s*(?:,|$))[0-9.]*\s*)?(?:,|$)"
)
_korean_first = re.compile(KOREAN_FIRST, re.IGNORECASE | re.ASCII).match
_korean_first_bytes = re.compile(KOREAN_FIRST.encode(), re.IGNORECASE).match
# Headers seen and the language they picked: browsers send a handful of distinct values,
# so the hot route's pick is one dict lookup. Bounded: cleared when full.
_picked: dict[bytes | str, str] = {}
_PICKED_MAX = 1024
# The language of the request being answered, for the framework's routes (web/asgi.py
# sets it; the issue route passes its language along instead).
LANGUAGE: ContextVar[str] = ContextVar("couponrush_language", default=DEFAULT)
PLURAL_FORMS = frozenset({"zero", "one", "two", "few", "many", "other"})


def language(accept: bytes | str | None) -> str:
    """The language of a request with this ``Accept-Language`` (None: absent)."""
    if not accept:
        return DEFAULT
    found = _picked.get(accept)
    if found is None:
        korean = _korean_first_bytes(accept) if isinstance(accept, bytes) else _korean_first(accept)
        found = "ko" if korean else DEFAULT
        if len(_picked) >= _PICKED_MAX:
            _picked.clear()
        _picked[accept] = found
    return found


def chosen(value: str | None) -> str | None:
    """``value`` when it names a language of ours (a page's ``?lang=`` or cookie)."""
    return value if value in LANGUAGES else None


def leaves(doc: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every (dotted key, text) of a catalogue; a plural (its forms by category, as the
    browser's Intl.PluralRules names them) is one text."""
    for name, value in doc.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and not value.keys() <= PLURAL_FORMS:
            yield from leaves(value, f"{key}.")
        else:
            yield key, value


class Catalogue:
    """The strings of one language, by dotted key (``results.sold_out.title``)."""

    def __init__(self, lang: str, doc: dict[str, Any]) -> None:
        self.lang = lang
        self.doc = doc
        self._texts = dict(leaves(doc))

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def text(self, key: str, **params: object) -> str:
        value = self._texts[key]
        if not isinstance(value, str):
            raise TypeError(f"{key} is a plural; the pages pick its form")
        return value.format_map(params) if params else value

    def title(self, result: str) -> str:
        return self.text(f"results.{result}.title")

    def detail(self, result: str) -> str:
        return self.text(f"results.{result}.detail")

    def sections(self, names: tuple[str, ...]) -> dict[str, Any]:
        return {name: self.doc[name] for name in names}


@cache
def catalogue(lang: str) -> Catalogue:
    return Catalogue(lang, json.loads((CATALOGUES / f"{lang}.json").read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class Detail:
    """A problem's detail that names a value: a key of ``details`` and its values."""

    key: str
    params: dict[str, object] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return catalogue(lang).text(f"details.{self.key}", **self.params)


def say(key: str, **params: object) -> Detail:
    return Detail(key, params)


def language_headers(lang: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """The headers of an answer in ``lang``: which it is, and that it was chosen by
    Accept-Language (a 410 is cacheable by default, so a shared cache must key on it)."""
    return (("content-language", lang), ("vary", "accept-language"))
