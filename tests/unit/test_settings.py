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
    for name in (*ALL_NAMES, "SEGMETRICS_CONNECTIONS", "SEGMETRICS_BOT_SECRET_KEY"):
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


CONNECTIONS = """
[connections.payments]
api_key = "env:SEGMETRICS_PAYMENTS_KEY"
account_id = "1234"
integration_id = "77"
resources = ["order", "subscription"]
channels = ["#sales"]

[connections.ads]
api_key = "env:SEGMETRICS_ADS_KEY"
account_id = "1234"
integration_id = "91"
timezone = "America/New_York"
resources = ["ad"]
"""


def test_the_connections_file_is_read_at_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "connections.toml").write_text(CONNECTIONS)
    monkeypatch.setenv("SEGMETRICS_CONNECTIONS", "connections.toml")
    monkeypatch.setenv("SEGMETRICS_PAYMENTS_KEY", "sk-payments-1")
    monkeypatch.setenv("SEGMETRICS_ADS_KEY", "sk-ads-2")
    monkeypatch.setenv("SEGMETRICS_TIMEZONE", "Europe/London")
    monkeypatch.setenv("SEGMETRICS_CURRENCY", "gbp")
    settings = load_settings()
    payments, ads = settings.file_connections()
    assert (payments.name, payments.resources, payments.channels) == (
        "payments",
        ("order", "subscription"),
        ("#sales",),
    )
    # Its defaults are the environment's zone and currency.
    assert (payments.timezone, payments.currency, payments.source) == ("Europe/London", "GBP", "file")
    assert (ads.timezone, ads.api_key.get_secret_value()) == ("America/New_York", "sk-ads-2")
    # Read once: the environment changing later changes nothing.
    monkeypatch.setenv("SEGMETRICS_ADS_KEY", "sk-ads-3")
    assert settings.file_connections()[1].api_key.get_secret_value() == "sk-ads-2"
    for secret in ("sk-payments-1", "sk-ads-2"):
        assert secret not in repr(settings.file_connections()) and secret not in str(settings.file_connections())
    assert load_settings(None, segmetrics_connections="").file_connections() == []


def test_the_connections_files_problems_are_listed_with_the_others(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "connections.toml").write_text(CONNECTIONS + '\n[connections.default]\napi_key = "sk-file-3"\n')
    monkeypatch.setenv("SEGMETRICS_CONNECTIONS", "connections.toml")
    monkeypatch.setenv("SEGMETRICS_PAYMENTS_KEY", "sk-payments-1")
    monkeypatch.setenv("SEGMETRICS_API_KEY", "sk-live-123")
    monkeypatch.setenv("SEGMETRICS_ACCOUNT_ID", "acct")
    monkeypatch.setenv("SEGMETRICS_INTEGRATION_ID", "int")
    monkeypatch.setenv("SEGMETRICS_CURRENCY", "DOGE")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "- SEGMETRICS_CURRENCY: 'DOGE' is not an ISO 4217 currency code" in message
    assert "- SEGMETRICS_CONNECTIONS: 4 problems:" in message
    for expected in (
        "connections.toml [connections.ads]: api_key reads the environment variable SEGMETRICS_ADS_KEY, which is "
        "not set",
        "connections.toml [connections.default]: the environment (SEGMETRICS_API_KEY, SEGMETRICS_ACCOUNT_ID, "
        "SEGMETRICS_INTEGRATION_ID) already defines the connection `default`",
        "connections.toml [connections.default]: account_id is missing",
        "connections.toml [connections.default]: integration_id is missing",
    ):
        assert expected in message
    for secret in ("sk-payments-1", "sk-file-3", "sk-live-123"):
        assert secret not in message


def test_an_unreadable_connections_file_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMETRICS_CONNECTIONS", "nowhere.toml")
    with pytest.raises(SettingsError, match=r"- SEGMETRICS_CONNECTIONS: cannot read nowhere.toml \(No such file"):
        load_settings()


def test_the_bot_secret_key_is_checked_and_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    monkeypatch.setenv("SEGMETRICS_BOT_SECRET_KEY", "hunter2-hunter2")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "- SEGMETRICS_BOT_SECRET_KEY: is not a Fernet key" in message
    assert "Fernet.generate_key().decode()" in message and "hunter2" not in message
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("SEGMETRICS_BOT_SECRET_KEY", f" {new}, {old} ")
    settings = load_settings()
    assert settings.segmetrics_bot_secret_key is not None
    assert settings.segmetrics_bot_secret_key.get_secret_value() == f"{new},{old}"
    assert new not in repr(settings) and new not in str(settings.model_dump())
    monkeypatch.setenv("SEGMETRICS_BOT_SECRET_KEY", " ")
    assert load_settings().segmetrics_bot_secret_key is None
