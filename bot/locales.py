"""What a user's Slack locale (`en-GB`, `es-LA`) says about how they write: the order of day and month in a
numeric date, and their country. Read from CLDR through babel, cached per locale."""

from __future__ import annotations

from functools import cache

# Slack's own codes that CLDR spells differently.
_SLACK_TO_CLDR = {"es-LA": "es_419", "zh-CN": "zh_Hans_CN", "zh-TW": "zh_Hant_TW"}


@cache
def _parse(locale: str):  # type: ignore[no-untyped-def]
    from babel import Locale, UnknownLocaleError

    code = _SLACK_TO_CLDR.get(locale, locale.replace("-", "_"))
    try:
        return Locale.parse(code)
    except (UnknownLocaleError, ValueError, TypeError):
        return None


@cache
def date_order_of(locale: str | None) -> str | None:
    """`MDY`, `DMY` or `YMD` from the locale's short date pattern (`M/d/yy` → MDY), or None when unknown."""
    if not locale:
        return None
    parsed = _parse(locale)
    if parsed is None:
        return None
    from babel.dates import get_date_format

    pattern = get_date_format("short", locale=parsed).pattern
    positions = {letter: pattern.find(letter) for letter in "yMd"}
    if min(positions.values()) < 0:
        return None
    order = "".join(sorted(positions, key=positions.__getitem__)).replace("y", "Y").replace("d", "D")
    return order if order in ("MDY", "DMY", "YMD") else None


def country_of_locale(locale: str | None) -> str | None:
    """`en-GB` → `GB`; None for a locale without a country (`es-LA` is a region, not one country)."""
    if not locale:
        return None
    parsed = _parse(locale)
    territory = getattr(parsed, "territory", None)
    return territory if territory and territory.isalpha() and len(territory) == 2 else None


def known_locale(locale: str) -> bool:
    """True when CLDR knows `locale` (`en-GB`, `fr-FR`, Slack's `es-LA`)."""
    return _parse(locale) is not None
