"""Date fields: about the past, about the future, or a whole day, read with the user's locale."""

from __future__ import annotations

from datetime import date

import pytest

from bot.context import Context
from bot.fields import Day, Moment
from bot.problems import InputError
from tests.conftest import make_context


def test_a_future_field_says_when_its_moment_has_already_passed() -> None:
    ctx = make_context()
    trial_end = Moment(prefer="future")
    assert (
        trial_end.describe(trial_end.read("yesterday 3pm", ctx), ctx) == "Sun Nov 22, 2026 3:00 PM EST (already past)"
    )
    assert trial_end.describe(trial_end.read("tomorrow 3pm", ctx), ctx) == "Tue Nov 24, 2026 3:00 PM EST"
    assert trial_end.to_text(trial_end.read("yesterday 3pm", ctx), ctx) == "2026-11-22 15:00"


def test_a_day_field_takes_a_part_of_the_day_and_refuses_a_day_to_come() -> None:
    ctx = make_context()
    spend_day = Day(prefer="past")
    assert spend_day.read("yesterday evening", ctx) == date(2026, 11, 22)
    assert spend_day.read("today", ctx) == date(2026, 11, 23)
    with pytest.raises(Exception, match="has not happened yet"):
        spend_day.read("tomorrow", ctx)


def test_the_users_locale_reaches_the_reader() -> None:
    american, british = make_context(), _with_locale(make_context(), "en-GB")
    created = Moment(prefer="past")
    assert created.read("02/03/2026", american).date() == date(2026, 2, 3)
    assert created.read("02/03/2026", british).date() == date(2026, 3, 2)


def test_a_refusal_reaches_the_form_beside_its_field() -> None:
    from commands import REGISTRY

    operation = REGISTRY.named("contact add")
    with pytest.raises(InputError) as caught:
        operation.validate({"email": "a@b.co", "date_created": "next Wednesday"}, make_context())
    beside = caught.value.by_field()["date_created"]
    assert "has not happened yet" in beside or "could mean" in beside


def _with_locale(ctx: Context, locale: str) -> Context:
    from dataclasses import replace

    return replace(ctx, locale=locale)
