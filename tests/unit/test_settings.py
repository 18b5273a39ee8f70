"""Settings: the contract's names and defaults, sandbox mode, and one message listing every problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

ALL_NAMES = (
    "SEGMETRICS_API_KEY",
    "SEGMETRICS_ACCOUNT_ID",
    "SEGMETRICS_INTEGRATION_ID",
    "SEGMETRICS_IMPORT_URL",
    "SEGMETRICS_REPORTING_URL",
    "SEGMETRICS_TIMEZONE",
    "SEGMETRICS_CURRENCY",
    "SEGMETRICS_TIMEOUT",
    "SEGMETRICS_MAX_ATTEMPTS",
    "SEGMETRICS_RETRY_BUDGET",
    "SEGMETRICS_MAX_CONNECTIONS",
    "DATE_ORDER",
    "DATE_LANGUAGES",
    "DECIMAL_MARK",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_mean_the_sandbox() -> None:
    settings = load_settings()
    assert settings.sandbox
    assert settings.segmetrics_import_url == "https://import.segmetrics.io/api/v1"
    assert settings.segmetrics_reporting_url == "https://api.segmetrics.io"
    assert settings.segmetrics_timezone == "UTC"
    assert settings.segmetrics_currency == "USD"
    assert settings.date_order == "MDY"
    assert settings.date_languages == ["en"]
    assert settings.decimal_mark is None


def test_reads_the_contract_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMETRICS_API_KEY", "sk-live-123")
    monkeypatch.setenv("SEGMETRICS_ACCOUNT_ID", "acct")
    monkeypatch.setenv("SEGMETRICS_INTEGRATION_ID", "int")
    monkeypatch.setenv("SEGMETRICS_IMPORT_URL", "http://127.0.0.1:9/api/v1/")
    monkeypatch.setenv("SEGMETRICS_REPORTING_URL", "http://127.0.0.1:9/reporting")
    monkeypatch.setenv("SEGMETRICS_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("SEGMETRICS_CURRENCY", "eur")
    monkeypatch.setenv("DATE_ORDER", "DMY")
    monkeypatch.setenv("DATE_LANGUAGES", "en, fr")
    monkeypatch.setenv("DECIMAL_MARK", ",")
    settings = load_settings()
    assert not settings.sandbox
    assert settings.segmetrics_api_key is not None
    assert settings.segmetrics_api_key.get_secret_value() == "sk-live-123"
    assert settings.segmetrics_import_url == "http://127.0.0.1:9/api/v1"
    assert settings.api_zone.key == "America/Chicago"
    assert settings.segmetrics_currency == "EUR"
    assert settings.date_order == "DMY"
    assert settings.date_languages == ["en", "fr"]
    assert settings.decimal_mark == ","


def test_reads_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SEGMETRICS_CURRENCY=GBP\nSEGMETRICS_TIMEZONE=Europe/London\n")
    settings = load_settings()
    assert settings.segmetrics_currency == "GBP"
    assert settings.segmetrics_timezone == "Europe/London"


def test_every_problem_is_listed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMETRICS_API_KEY", "sk-live-123")
    monkeypatch.setenv("SEGMETRICS_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("SEGMETRICS_CURRENCY", "DOGE")
    monkeypatch.setenv("SEGMETRICS_IMPORT_URL", "ftp://example.com")
    monkeypatch.setenv("DATE_ORDER", "XYZ")
    monkeypatch.setenv("DATE_LANGUAGES", "en,klingon")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    for expected in (
        "SEGMETRICS_TIMEZONE: 'Mars/Olympus' is not an IANA time zone",
        "SEGMETRICS_CURRENCY: 'DOGE' is not an ISO 4217 currency code",
        "SEGMETRICS_IMPORT_URL: 'ftp://example.com' is not an http(s) URL",
        "DATE_ORDER: must be one of 'MDY', 'DMY' or 'YMD'",
        "DATE_LANGUAGES: unknown language code(s) klingon",
    ):
        assert expected in message
    assert "sk-live-123" not in message


def test_half_configured_credentials_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMETRICS_API_KEY", "sk-live-123")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "SEGMETRICS_ACCOUNT_ID, SEGMETRICS_INTEGRATION_ID not set" in message
    assert "or none of them to use the built-in sandbox" in message
    assert "sk-live-123" not in message


def test_a_key_that_cannot_travel_in_a_header_is_refused_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMETRICS_API_KEY", "sk live é")
    monkeypatch.setenv("SEGMETRICS_ACCOUNT_ID", "acct")
    monkeypatch.setenv("SEGMETRICS_INTEGRATION_ID", "int")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "SEGMETRICS_API_KEY: has characters an API key cannot have" in str(caught.value)
    assert "sk live" not in str(caught.value)


def test_the_key_is_never_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMETRICS_API_KEY", "sk-live-123")
    monkeypatch.setenv("SEGMETRICS_ACCOUNT_ID", "acct")
    monkeypatch.setenv("SEGMETRICS_INTEGRATION_ID", "int")
    settings = load_settings()
    assert "sk-live-123" not in repr(settings)
    assert "sk-live-123" not in str(settings.model_dump())


def test_the_languages_checked_without_dateparser_are_all_dateparsers() -> None:
    from dateparser.languages.loader import default_loader

    from bot.settings import COMMON_LANGUAGES

    assert set(default_loader.get_locale_map()) >= COMMON_LANGUAGES
    # A rarer one is still accepted, after a look at dateparser's list.
    assert load_settings(None, date_languages="en,uk").date_languages == ["en", "uk"]
