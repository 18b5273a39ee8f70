"""Money as typed → exact integer minor units, and every refusal naming what to fix."""

from __future__ import annotations

import contextlib

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
        (USD, "45 12", "grouped oddly"),
        (EUR_COMMA, "1,234", "has 3 decimals"),
        (JPY, "12.50", "JPY amounts have no decimals"),
        (USD, "0,500", "has 3 decimals"),
        (USD, "00,500", "has 3 decimals"),
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


# --- the configured currency as its own users write it -------------------------------------------------------


def reader(code: str, mark: str | None = None) -> MoneyReader:
    return MoneyReader(Currency.of(code), mark)


@pytest.mark.parametrize(
    ("code", "mark", "text", "minor"),
    [
        ("PLN", None, "45,00 zł", 4500),
        ("PLN", ",", "1 299,99 zł", 129999),
        ("PLN", None, "1.299 zł", 129900),  # Poles write decimals with a comma, so the dot groups
        ("CZK", None, "80 Kč", 8000),
        ("CZK", None, "50,- Kč", 5000),
        ("RUB", None, "419 руб.", 41900),
        ("RUB", None, "860 ₽", 86000),
        ("UAH", None, "950 грн.", 95000),
        ("HUF", None, "3 990 Ft", 399000),  # ISO 4217: the forint has two decimals
        ("RON", None, "145,00 lei", 14500),
        ("MYR", None, "RM50", 5000),
        ("JPY", None, "3,500円", 3500),
        ("JPY", ".", "¥3500", 3500),
        ("KRW", None, "12,000원", 12000),
        ("USD", ".", "10 dollars", 1000),
        ("USD", ".", "$9.99 USD", 999),
        ("USD", ".", "USD $25", 2500),
        ("USD", ".", "50 cents", 50),
        ("USD", ".", "99¢", 99),
        ("GBP", ".", "99p", 99),
        ("EUR", ".", "20 euros", 2000),
        ("EUR", ",", "€ 1.299,-", 129900),
        ("INR", None, "₹1,00,000", 10000000),  # grouped the Indian way
        ("INR", ".", "Rs. 499/-", 49900),
        ("CHF", ".", "CHF 12.-", 1200),
        ("CHF", ".", "Fr. 1'299.50", 129950),
        ("SEK", None, "99:-", 9900),
        ("BRL", None, "R$ 1.299,90", 129990),
        ("VND", None, "150.000₫", 150000),
        ("CNY", ".", "人民币45元", 4500),
        ("TWD", ".", "新台幣1,280元", 128000),
        ("SAR", ".", "١٬٢٥٠٫٥٠ ر.س", 125050),  # Arabic digits and marks
        ("KWD", ".", "KD 1.250", 1250),
        ("ZAR", ".", "R 49.99", 4999),
        ("KWD", ",", "١٬٢٣٤ د.ك", 1234000),  # Arabic's own marks: ٬ groups, ٫ is the decimal mark
        ("PEN", ".", "S/.1,234.50", 123450),
        ("KES", ",", "1,500/=", 150000),  # "/=": no decimals, so the comma groups
        ("KES", ".", "Kshs. 1,500", 150000),
        ("IDR", None, "Rp 1.500.000.000", 150000000000),
        ("USD", ".", "10 USD.", 1000),
        ("USD", ".", "\ufeff50", 5000),
    ],
)
def test_reads_each_currency_as_its_users_write_it(code: str, mark: str | None, text: str, minor: int) -> None:
    assert reader(code, mark).parse(text) == minor


@pytest.mark.parametrize(
    ("code", "mark", "text", "says"),
    [
        ("GBP", ".", "£6.95 - £9.95", "is a range"),
        ("USD", ".", "$10-$20", "is a range"),
        ("EUR", ".", "10 bis 20 €", "is a range"),
        ("GBP", ".", "£25.00 (tax incl.)", "has extra words (`(tax incl.)`)"),
        ("USD", ".", "from $9.99", "has extra words (`from $`)"),
        ("USD", ".", "$9.99/mo", "has extra words"),
        ("GBP", ".", "£1.2k", "write the amount in full"),
        ("USD", ".", "$1.5M", "write the amount in full"),
        ("GBP", ".", "-£5", "negative"),
        ("USD", ".", "+$5.00", "leave out the `+` sign"),
        ("JPY", ".", "¥1,200-", "ends with a minus"),
        ("BRL", None, "12x de R$ 99,90", "more than one number"),
        ("PLN", ".", "1,299 zł", "could be read two ways where PLN is used"),
        ("EUR", None, "1.234 €", "could be read two ways where EUR is used"),
        ("EUR", None, "1,234", "could be read two ways"),
        ("KWD", ".", "KD 1,250", "could be read two ways"),
        ("USD", ".", "€12", "is in EUR"),
        ("CZK", None, "45 zł", "is in PLN"),
        ("PLN", None, "80 Kč", "is in CZK"),
        ("USD", ".", "5 bucks", "has extra words (`bucks`)"),
        ("GBP", ".", "£99p", "names two units"),
        ("USD", ".", "1.5¢", "fraction of the smallest unit"),
        ("EUR", ",", "1.299,50,-", "has decimals and a mark saying it has none"),
        ("USD", ".", "$999¹", "footnote mark"),
        ("EUR", ".", "49,99¹ €", "footnote mark"),
        ("USD", ".", "5,-10,-", "more than one number"),
        ("SEK", None, "10:- – 20:-", "is a range"),
        ("BRL", ".", "$50", "another currency"),
        ("USD", ".", "USD.99", "extra words"),
        ("ZAR", ".", "R.50", "extra words"),  # 50 rand, or 50 cents?
        ("ZMW", ".", "50K", "write the amount in full"),
        ("USD", ".", "100000000000000 cents", "looks like a typo"),
        ("USD", ".", "‐50", "negative"),
        ("EUR", ".", "50 kr.", "another currency (`kr.` is DKK, ISK, NOK, SEK)"),
        ("PLN", None, "١٢٫٥٠٠ zł", "has 3 decimals"),
    ],
)
def test_refuses_each_for_the_right_reason(code: str, mark: str | None, text: str, says: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        reader(code, mark).parse(text)
    assert says in caught.value.message
    assert caught.value.examples


def test_minor_units_follow_iso_4217() -> None:
    assert [Currency.of(code).exponent for code in ("USD", "JPY", "HUF", "IDR", "BHD", "KRW")] == [2, 0, 2, 2, 3, 0]
    assert Currency.of("HUF").format(399000) == "HUF3,990.00"


def test_with_decimal_mark_unset_the_currencys_countries_decide() -> None:
    assert reader("USD").parse("1,234") == 123400  # Americans group with commas
    assert reader("PLN").parse("1.299") == 129900  # Poles write decimals with commas, so a dot groups
    with pytest.raises(InvalidValue, match="3 decimals"):
        reader("PLN").parse("1,299")
    assert reader("EUR").plain(123456) == "1234.56"  # readable back whatever the habit
    assert reader("EUR").parse(reader("EUR").plain(123456)) == 123456


@given(st.integers(min_value=0, max_value=99_999_999_999), st.sampled_from(["USD", "EUR", "PLN", "CHF", "INR", "HUF"]))
def test_round_trip_through_the_display_form(amount: int, code: str) -> None:
    for mark in (None, ".", ","):
        money = reader(code, mark)
        assert money.parse(money.currency.format(amount)) == amount
        assert money.parse(money.plain(amount)) == amount


def test_the_shipped_currency_habits_are_cldrs() -> None:
    """`currency_habits.json` is what `python -m bot.currency_habits` works out from babel's CLDR data."""
    import json

    import babel

    from bot import currency_habits

    shipped = json.loads(currency_habits.DATA.read_text(encoding="utf-8"))
    assert shipped["currencies"]["PLN"]["decimal_marks"] == [","]
    assert shipped["currencies"]["EUR"]["decimal_marks"] == [",", "."]
    assert shipped["currencies"]["INR"]["lakh"] is True
    assert "zł" in shipped["currencies"]["PLN"]["markers"]
    if shipped["babel"] == babel.__version__:  # a newer babel may know more: regenerate the file then
        for code in ("PLN", "JPY", "CHF"):
            assert currency_habits.from_cldr(code) == shipped["currencies"][code]


@given(st.text(max_size=30), st.sampled_from(["USD", "EUR", "PLN", "JPY", "KWD", "INR", "XOF"]),
       st.sampled_from([".", ",", None]))  # fmt: skip
def test_anything_typed_is_an_amount_or_refused_never_a_crash(text: str, code: str, mark: str | None) -> None:
    with contextlib.suppress(InvalidValue):
        assert reader(code, mark).parse(text) >= 0
