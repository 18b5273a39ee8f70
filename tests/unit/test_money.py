"""Money as typed → exact integer minor units, and every refusal naming what to fix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.money import Currency, MoneyReader
from bot.problems import InvalidValue

USD = MoneyReader(Currency.of("USD"))
EUR = MoneyReader(Currency.of("EUR"))
EUR_COMMA = MoneyReader(Currency.of("EUR"), decimal_mark=",")
JPY = MoneyReader(Currency.of("JPY"))
BHD = MoneyReader(Currency.of("BHD"))
CAD = MoneyReader(Currency.of("CAD"))
BHD_COMMA = MoneyReader(Currency.of("BHD"), decimal_mark=",")


@pytest.mark.parametrize(
    ("reader", "text", "cents"),
    [
        (USD, "$1,234.56", 123456),
        (USD, "1234.56", 123456),
        (USD, "45", 4500),
        (USD, "45.5", 4550),
        (USD, "45.50", 4550),
        (USD, "0", 0),
        (USD, "0.01", 1),
        (USD, ".99", 99),
        (USD, "USD 45", 4500),
        (USD, "45 usd", 4500),
        (USD, "45USD", 4500),
        (USD, "  $ 45.00 ", 4500),
        (USD, "US$45", 4500),
        (USD, "1,234", 123400),  # one comma + three digits: thousands, by the DECIMAL_MARK "." rule
        (USD, "1,234,567.89", 123456789),
        (USD, "1 234,56", 123456),
        (USD, "1\u00a0234,56", 123456),
        (USD, "1'234.50", 123450),
        (USD, "12,50", 1250),
        (USD, "999,999,999.99", 99999999999),
        (EUR, "€12,50", 1250),
        (EUR, "12,50 EUR", 1250),
        (EUR, "12,50 €", 1250),
        (EUR, "1.234,56 €", 123456),
        (EUR, "1.234.567", 123456700),
        (EUR_COMMA, "1.234", 123400),
        (EUR_COMMA, "1,5", 150),
        (JPY, "¥1,234", 1234),
        (JPY, "5000", 5000),
        (BHD, "1.234", 1234),
        (BHD, "BHD 12.5", 12500),
        (CAD, "$45", 4500),
        (CAD, "CA$45", 4500),
        (USD, "45,-", 4500),
        (EUR, "45.–", 4500),
    ],
)
def test_reads_amounts_exactly(reader: MoneyReader, text: str, cents: int) -> None:
    assert reader.parse(text) == cents


@pytest.mark.parametrize(
    ("reader", "text", "says"),
    [
        (USD, "45.999", "has 3 decimals, but USD amounts have at most 2 decimals"),
        (USD, "1.234", "has 3 decimals"),
        (USD, "-5", "negative"),
        (USD, "−5", "negative"),
        (USD, "$-5.00", "negative"),
        (USD, "(5.00)", "negative"),
        (USD, "+5", "leave out the `+` sign"),
        (USD, "1e5", "no exponents"),
        (USD, "1E+5", "no exponents"),
        (USD, "", "is empty"),
        (USD, "   ", "is empty"),
        (USD, "forty", "is not an amount"),
        (USD, "45 dollars", "is not an amount"),
        (USD, "€12,50", "is in EUR, but this workspace records amounts in USD"),
        (USD, "12.50 GBP", "is in GBP"),
        (USD, "CA$5", "is in CAD"),
        (USD, "1000000000", "looks like a typo"),
        (USD, "9" * 40, "looks like a typo"),
        (USD, "9" * 80, "too long"),
        (USD, "1,23,456", "grouped oddly"),
        (USD, "12,3456.00", "grouped oddly"),
        (USD, "1,2,3", "grouped oddly"),
        (USD, "45.", "ends with a separator"),
        (USD, "1.234,567.89", "not a number"),
        (USD, "$45 USD", "names the currency twice"),
        (USD, "45 12", "grouped oddly"),
        (USD, "٤٥", "is not an amount"),
        (EUR_COMMA, "1,234", "has 3 decimals"),
        (JPY, "12.50", "JPY amounts have no decimals"),
        (USD, "0,500", "grouped oddly"),
        (USD, "00,500", "grouped oddly"),
        (USD, "0 500", "grouped oddly"),
        (CAD, "US$45", "is in USD"),
        (JPY, "1.5", "no decimals"),
    ],
)
def test_refuses_with_a_reason(reader: MoneyReader, text: str, says: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        reader.parse(text)
    assert says in caught.value.message
    assert caught.value.examples, "every refusal shows an example that works"


def test_examples_are_in_the_configured_currency() -> None:
    assert USD.example == "$49.99"
    assert EUR.example == "€49.99"
    assert JPY.parse(JPY.example) == 49


def test_formats_for_humans() -> None:
    assert USD.currency.format(123456) == "$1,234.56"
    assert EUR.currency.format(1250) == "€12.50"
    assert JPY.currency.format(1234) == "¥1,234"
    assert USD.plain(5) == "0.05"
    assert JPY.plain(1234) == "1234"
    assert EUR_COMMA.plain(123456) == "1234,56"


cents = st.integers(min_value=0, max_value=99_999_999_999)


@given(cents)
def test_round_trip_through_every_written_form(amount: int) -> None:
    major, minor = divmod(amount, 100)
    written = [
        f"{major}.{minor:02d}",
        f"{major:,}.{minor:02d}",
        f"${major:,}.{minor:02d}",
        f"USD {major}.{minor:02d}",
        f"{major:,}.{minor:02d} USD",
        f"{major:,}.{minor:02d}".replace(",", " "),
        f"{major:,}.{minor:02d}".translate(str.maketrans(",.", ".,")),  # 1.234,56
        USD.currency.format(amount),
        USD.plain(amount),
    ]
    for text in written:
        assert USD.parse(text) == amount, text


@given(cents)
def test_round_trip_european_forms(amount: int) -> None:
    major, minor = divmod(amount, 100)
    grouped = f"{major:,}".replace(",", ".")
    for text in (
        f"{grouped},{minor:02d} €",
        f"€{major:,}.{minor:02d}",
        f"{major} {minor:02d}".replace(" ", ","),
    ):
        assert EUR.parse(text) == amount, text


@given(st.integers(min_value=0, max_value=999_999_999_999))
def test_round_trip_three_decimal_currency(amount: int) -> None:
    assert BHD.parse(BHD.plain(amount)) == amount
    assert BHD_COMMA.parse(BHD_COMMA.plain(amount)) == amount
    assert BHD.parse(BHD.currency.format(amount)) == amount


@given(st.integers(min_value=0, max_value=999_999_999))
def test_round_trip_zero_decimal_currency(amount: int) -> None:
    assert JPY.parse(JPY.currency.format(amount)) == amount
    assert JPY.parse(str(amount)) == amount


@given(cents)
def test_round_trip_with_comma_as_decimal_mark(amount: int) -> None:
    major, minor = divmod(amount, 100)
    for text in (EUR_COMMA.plain(amount), f"{major:,}".replace(",", ".") + f",{minor:02d} €", f"{major},{minor:02d}"):
        assert EUR_COMMA.parse(text) == amount, text
