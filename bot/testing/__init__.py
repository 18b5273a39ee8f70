"""Fakes of outside services for the bot's tests and benchmarks."""

from __future__ import annotations

from bot.testing.fake_slack import Call, FakeSlack, Upload, authorize_link

__all__ = ["Call", "FakeSlack", "Upload", "authorize_link"]
