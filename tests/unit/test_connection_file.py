"""The connections file as an admin writes it: what it declares, and every mistake listed at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.connection_file import ConnectionsFileError, load_connections
from commands import REGISTRY

RESOURCES = [resource.name for resource in REGISTRY.resources]
PAYMENTS_KEY = "sk-live-PAYMENTS-9f8e7d6c"
ADS_KEY = "sk-live-ADS-0a1b2c3d4e"
LITERAL_KEY = "sk-live-LITERAL-5566778899"
ENVIRON = {"SEGMETRICS_PAYMENTS_KEY": PAYMENTS_KEY, "SEGMETRICS_ADS_KEY": ADS_KEY}
KEYS = (PAYMENTS_KEY, ADS_KEY, LITERAL_KEY)

CONTRACT = """
[connections.payments]
api_key = "env:SEGMETRICS_PAYMENTS_KEY"   # "env:NAME" reads the key from the environment; a literal works too
account_id = "1234"
integration_id = "77"
timezone = "America/New_York"             # optional; default SEGMETRICS_TIMEZONE
currency = "USD"                          # optional; default SEGMETRICS_CURRENCY
resources = ["contact", "tag", "order", "subscription"]   # the default for these (optional)
channels = ["#sales", "C0SALES12"]        # the default in these channels (optional)

[connections.ads]
api_key = "env:SEGMETRICS_ADS_KEY"
account_id = "1234"
integration_id = "91"
resources = ["ad"]
"""


def load(tmp_path: Path, text: str, *, env_default: bool = True, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "connections.toml"
    path.write_text(text, encoding="utf-8")
    return load_connections(
        str(path),
        timezone="Europe/Paris",
        currency="EUR",
        resources=RESOURCES,
        environ=ENVIRON if environ is None else environ,
        env_default=env_default,
    )


def problems(tmp_path: Path, text: str, **options: object) -> list[str]:
    with pytest.raises(ConnectionsFileError) as caught:
        load(tmp_path, text, **options)
    message = str(caught.value)
    for key in KEYS:
        assert key not in message, "a key is in a message"
    for problem in caught.value.problems:
        assert problem in message
        assert str(tmp_path / "connections.toml") in problem, f"the file is not named: {problem}"
    return caught.value.problems


def test_the_contract_example_reads_as_documented(tmp_path: Path) -> None:
    payments, ads = load(tmp_path, CONTRACT)
    assert payments.name == "payments" and payments.source == "file" and not payments.editable
    assert payments.api_key.get_secret_value() == PAYMENTS_KEY
    assert (payments.account_id, payments.integration_id) == ("1234", "77")
    assert (payments.timezone, payments.currency) == ("America/New_York", "USD")
    assert payments.resources == ("contact", "tag", "order", "subscription")
    assert payments.channels == ("#sales", "C0SALES12")
    # Left out: the zone and currency of the environment.
    assert (ads.name, ads.integration_id, ads.timezone, ads.currency) == ("ads", "91", "Europe/Paris", "EUR")
    assert ads.resources == ("ad",) and ads.channels == ()
    assert ads.api_key.get_secret_value() == ADS_KEY
    assert PAYMENTS_KEY not in repr(payments)


def test_literal_keys_lenient_spelling_and_an_empty_file(tmp_path: Path) -> None:
    (acme,) = load(
        tmp_path,
        f"""
        [connections.client-acme]
        api_key = " {LITERAL_KEY} "
        account_id = 1234
        integration_id = " 9 "
        currency = "gbp"
        resources = "Order"
        channels = ["Marketing", "#Sales", "#sales"]
        """,
    )
    assert acme.api_key.get_secret_value() == LITERAL_KEY
    assert (acme.account_id, acme.integration_id, acme.currency) == ("1234", "9", "GBP")
    assert acme.resources == ("order",) and acme.channels == ("#marketing", "#sales")
    assert load(tmp_path, "# no connections yet\n") == []


def test_default_is_refused_when_the_environment_defines_it_and_allowed_otherwise(tmp_path: Path) -> None:
    text = '[connections.default]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n'
    (problem,) = problems(tmp_path, text, env_default=True)
    assert "[connections.default]" in problem and "already defines the connection `default`" in problem
    assert "[connections.payments]" in problem  # a name that works
    (default,) = load(tmp_path, text, env_default=False)
    assert default.name == "default" and default.api_key.get_secret_value() == ADS_KEY


BAD_FILES = [
    pytest.param(
        '[connections.ads]\napi_key = "env:SEGMETRICS_AD_KEY"\naccount_id = "1"\nintegration_id = "2"\n',
        ["[connections.ads]: api_key reads the environment variable SEGMETRICS_AD_KEY, which is not set"],
        id="missing-env-variable",
    ),
    pytest.param(
        '[connections.ads]\naccount_id = "1"\nintegration_id = "2"\n',
        ['[connections.ads]: api_key is missing; e.g. api_key = "env:SEGMETRICS_PAYMENTS_KEY"'],
        id="no-key",
    ),
    pytest.param(
        '[connections.ads]\napi_key = "env:SEGMETRICS_ADS_KEY"\n',
        [
            '[connections.ads]: account_id is missing; e.g. account_id = "1234"',
            '[connections.ads]: integration_id is missing; e.g. integration_id = "77"',
        ],
        id="no-ids",
    ),
    pytest.param(
        '[connections.ads]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "12/34"\nintegration_id = "a/b"\n',
        [
            '[connections.ads]: account_id "12/34" must not contain `/` or `\\`; e.g. account_id = "1234"',
            '[connections.ads]: integration_id "a/b" must not contain `/` or `\\`; e.g. integration_id = "77"',
        ],
        id="slash-in-ids",
    ),
    pytest.param(
        '[connections.ads]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = ".."\nintegration_id = "7 7"\n',
        [
            '[connections.ads]: account_id ".." cannot be made only of dots; e.g. account_id = "1234"',
            '[connections.ads]: integration_id "7 7" must not contain spaces or line breaks; '
            'e.g. integration_id = "77"',
        ],
        id="dots-and-spaces-in-ids",
    ),
    pytest.param(
        '[connections.ads]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n'
        'currency = "DOGE"\ntimezone = "Mars/Olympus"\n',
        [
            '[connections.ads]: currency "DOGE" is not an ISO 4217 currency code; e.g. currency = "USD"',
            '[connections.ads]: timezone "Mars/Olympus" is not an IANA time zone; e.g. timezone = "America/New_York"',
        ],
        id="currency-and-zone",
    ),
    pytest.param(
        '[connections.ads]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n'
        'resources = ["contacts", "invoice"]\nchannels = ["#Sales Team"]\n',
        [
            '[connections.ads]: resources: "contacts" is not a resource; did you mean `contact`? the resources are',
            '[connections.ads]: resources: "invoice" is not a resource; the resources are',
            "[connections.ads]: channels: '#Sales Team' is not a channel",
        ],
        id="unknown-resource-bad-channel",
    ),
    pytest.param(
        '[connections.ads]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount = "1"\nintegration_id = "2"\nzone = "UTC"\n',
        [
            "[connections.ads]: unknown setting `account`; a connection takes api_key, account_id,",
            "[connections.ads]: unknown setting `zone`;",
            "[connections.ads]: account_id is missing",
        ],
        id="unknown-keys",
    ),
    pytest.param(
        '[connections.Payments]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n'
        '[connections."sales team"]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n',
        [
            '[connections.Payments]: "Payments" is not a connection name: a connection\'s name is 1 to 32 '
            "lower-case letters, digits, `-` or `_`, e.g. `payments`",
            '[connections."sales team"]: "sales team" is not a connection name',
        ],
        id="bad-names",
    ),
    pytest.param(
        '[connection.payments]\napi_key = "env:SEGMETRICS_ADS_KEY"\n',
        ["unknown section(s) [connection]; declare each connection as [connections.<name>], e.g. [connections."],
        id="unknown-section",
    ),
    pytest.param(
        '[connections.ads]\napi_key = "SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n',
        ['[connections.ads]: api_key names the environment variable SEGMETRICS_ADS_KEY: write api_key = "env:'],
        id="variable-without-env-prefix",
    ),
    pytest.param(
        '[connections.a]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n'
        'resources = ["order", "ad"]\nchannels = ["#sales"]\n'
        '[connections.b]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "3"\n'
        'resources = ["Order"]\nchannels = ["sales", "C0SALES12"]\n',
        [
            "connections `a` and `b` both claim the resource `order`; give it to one of them",
            "connections `a` and `b` both claim the channel #sales; give it to one of them",
        ],
        id="conflicts",
    ),
    pytest.param(
        "[connections.ads\napi_key = 1\n",
        ["is not valid TOML (", "line 1"],
        id="not-toml",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_mistakes_are_all_listed_with_the_section_and_an_example(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    found = problems(tmp_path, text)
    for part in expected:
        assert any(part in problem for problem in found), f"{part!r} not in {found}"


def test_every_problem_of_every_section_at_once_and_no_key_in_any(tmp_path: Path) -> None:
    text = f"""
    [connections.payments]
    api_key = "env:SEGMETRICS_PAYMENTS_KEY"
    account_id = "1234"
    integration_id = "77"
    currency = "DOGE"
    resources = ["order"]

    [connections.ads]
    api_key = "{LITERAL_KEY} with a space"
    integration_id = "91"
    resources = ["order", "ad"]

    [connections.Bad]
    api_key = "env:{ADS_KEY}"
    account_id = "1"
    integration_id = "1"
    colour = "blue"
    """
    found = problems(tmp_path, text)
    assert len(found) == 7, found
    joined = "\n".join(found)
    for part in (
        '[connections.payments]: currency "DOGE"',
        "[connections.ads]: api_key has characters an API key cannot have",
        "[connections.ads]: account_id is missing",
        '[connections.Bad]: "Bad" is not a connection name',
        '[connections.Bad]: api_key = "env:…" must name an environment variable',
        "[connections.Bad]: unknown setting `colour`",
        "connections `payments` and `ads` both claim the resource `order`",
    ):
        assert part in joined
    # An error listing them reads one problem a line.
    with pytest.raises(ConnectionsFileError) as caught:
        load(tmp_path, text)
    assert str(caught.value).startswith("7 problems:\n  - ")
    assert len(str(caught.value).splitlines()) == 8


@pytest.mark.parametrize(
    "value",
    [f'"env:{PAYMENTS_KEY}"', f'"{PAYMENTS_KEY}\\tx"', f'"{PAYMENTS_KEY}é"', "12345678901234", f'["{PAYMENTS_KEY}"]'],
)
def test_a_wrong_key_is_never_echoed(tmp_path: Path, value: str) -> None:
    text = f'[connections.ads]\napi_key = {value}\naccount_id = "1"\nintegration_id = "2"\n'
    (problem,) = problems(tmp_path, text)
    assert "[connections.ads]: api_key" in problem and "12345678901234" not in problem


def test_a_key_in_the_environment_that_cannot_travel_is_refused_by_its_variable(tmp_path: Path) -> None:
    text = '[connections.ads]\napi_key = "env:SEGMETRICS_ADS_KEY"\naccount_id = "1"\nintegration_id = "2"\n'
    (problem,) = problems(tmp_path, text, environ={"SEGMETRICS_ADS_KEY": f"{ADS_KEY} x"})
    assert "the environment variable SEGMETRICS_ADS_KEY has characters an API key cannot have" in problem
    (problem,) = problems(tmp_path, text, environ={"SEGMETRICS_ADS_KEY": "  "})
    assert "SEGMETRICS_ADS_KEY, which is not set" in problem


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConnectionsFileError, match=r"cannot read .*nowhere\.toml \(No such file"):
        load_connections(
            str(tmp_path / "nowhere.toml"),
            timezone="UTC",
            currency="USD",
            resources=RESOURCES,
            environ={},
            env_default=True,
        )
