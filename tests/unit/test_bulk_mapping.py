"""Columns to fields: spreadsheet headers as people write them, the user's fixes, every problem at once, and
rows read exactly as the chat command with the same keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.bulk.mapping import ColumnMap, MappingError, map_columns, normalize, raw_of
from bot.bulk.table import table_from_bytes, table_from_text
from bot.chat import parse_command
from bot.context import Context
from bot.operation import CONTACT_FIELDS, Operation
from bot.problems import InputError
from bot.runner import Runner
from bot.settings import load_settings
from commands import REGISTRY

WRITES = [op for op in REGISTRY if not op.reads and op.resource != "api"]


def problems_of(header: list[str], op_name: str, overrides: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(MappingError) as caught:
        map_columns(header, REGISTRY[op_name], overrides)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return list(caught.value.problems)


@pytest.fixture(scope="module")
def runner_ctx() -> Context:
    """The context a runner gives (sandbox, no credentials), at a fixed moment."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("SEGMETRICS_API_KEY", "SEGMETRICS_ACCOUNT_ID", "SEGMETRICS_INTEGRATION_ID"):
            patch.delenv(name, raising=False)
        runner = Runner.from_settings(load_settings(env_file=None))
    return runner.context("UTC", now=datetime(2026, 11, 23, 15, 30, tzinfo=UTC))


# ---- normalize ----


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("First Name", "firstname"),
        ("E-mail", "email"),
        ("date_created", "datecreated"),
        ("  Contact ID ", "contactid"),
        ("Amount spent (USD)", "amountspentusd"),
        ("Prénom", "prénom"),
        ("", ""),
    ],
)
def test_normalize(text: str, word: str) -> None:
    assert normalize(text) == word


# ---- every operation reads its own names ----


@pytest.mark.parametrize("op", WRITES, ids=lambda op: op.name)
def test_a_header_of_the_field_names_maps_to_those_fields(op: Operation) -> None:
    header = [f"{spec.prefix}.plan" if spec.prefix else spec.name for spec in op.params]
    mapping = map_columns(header, op)
    assert mapping.operation == op.name
    assert mapping.fields == tuple(header)
    assert mapping.ignored == ()
    # The same, as a spreadsheet would title them.
    titled = [name if "." in name else name.replace("_", " ").title() for name in header]
    assert map_columns(titled, op).fields == tuple(header)


@pytest.mark.parametrize("op", WRITES, ids=lambda op: op.name)
def test_every_alias_and_label_names_its_field(op: Operation) -> None:
    for spec in op.params:
        others = [other.name for other in op.params if other.required and other.name != spec.name]
        if op.needs_contact and spec.name not in CONTACT_FIELDS:
            others.append("email")
        for word in (*spec.aliases, spec.title):
            column = word.replace("_", " ").upper()
            assert map_columns([column, *others], op).fields[0] == spec.name, (op.name, column)


def test_no_alias_or_label_is_ambiguous_once_normalized() -> None:
    for op in WRITES:
        names: dict[str, set[str]] = {}
        for spec in op.params:
            for word in (spec.name, *spec.aliases):
                names.setdefault(normalize(word), set()).add(spec.name)
        assert all(len(fields) == 1 for fields in names.values()), op.name


# ---- headers as exported ----


def test_a_webinar_attendee_export_for_contacts() -> None:
    table = table_from_bytes(
        b'"First Name","Last Name","Email","Registered At","Tags"\n'
        b'"Priya","Shah","priya@example.com","2026-11-02 18:04:11","Webinar 2026, Attended"\n'
    )
    op = REGISTRY["contact add"]
    mapping = map_columns(table.header, op)
    assert mapping.fields == ("first_name", "last_name", "email", None, "tags")
    assert mapping.ignored == ("Registered At",)
    assert mapping.describe() == [
        "First Name → first_name",
        "Last Name → last_name",
        "Email → email",
        "Registered At: ignored",
        "Tags → tags",
    ]
    [row] = table.rows()
    assert raw_of(row.values, mapping, op) == {
        "first_name": "Priya",
        "last_name": "Shah",
        "email": "priya@example.com",
        "tags": ["Webinar 2026, Attended"],
    }


def test_the_same_export_can_set_its_registration_time_as_the_creation_date() -> None:
    op = REGISTRY["contact add"]
    mapping = map_columns(["First Name", "Email", "Registered At"], op, {"registered at": "created"})
    assert mapping.fields == ("first_name", "email", "date_created")
    assert mapping.describe()[-1] == "Registered At → date_created"


def test_a_facebook_ads_export_needs_its_spend_column_mapped() -> None:
    header = ["Reporting starts", "Ad name", "Ad ID", "Day", "Amount spent (USD)", "Impressions", "Clicks (all)"]
    op = REGISTRY["ad record"]
    assert problems_of(header, "ad record") == [
        'No column gives Spend (`spend`), which `ad record` requires. Add a column named "Spend", or map one '
        '("Amount spent (USD)=spend"). Columns not used: "Reporting starts" and "Amount spent (USD)".'
    ]
    mapping = map_columns(header, op, {"Amount spent (USD)": "spend"})
    assert mapping.fields == (None, "ad_name", "ad", "date", "spend", "impressions", "clicks")
    assert mapping.describe() == [
        "Reporting starts: ignored",
        "Ad name → ad_name",
        "Ad ID → ad",
        "Day → date",
        "Amount spent (USD) → spend",
        "Impressions → impressions",
        "Clicks (all) → clicks",
    ]


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("First Name", "first_name"),
        ("first", "first_name"),
        ("FIRSTNAME", "first_name"),
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("Contact ID", "contact_id"),
        ("contact-id", "contact_id"),
        ("IP Address", "ip_address"),
        ("UTM Source", "utm_source"),
        ("Source", "utm_source"),
        ("Referring URL", "referring_url"),
        ("Opt-in URL", "optin_url"),
        ("Created", "date_created"),
        ("Tag 1", "tags"),
        ("Tag #2", "tags"),
        ("Custom fields", "custom_fields"),
        ("field.plan", "field.plan"),
        ("Field: Plan", "field.Plan"),
        ("Registered At", None),
        ("Name", None),
        ("Phone (mobile)", None),
    ],
)
def test_contact_columns(column: str, field: str | None) -> None:
    op = REGISTRY["contact add"]
    header = [column] if column in ("E-mail", "Email Address", "Contact ID", "contact-id") else [column, "Email"]
    if field is None:
        assert map_columns(header, op).fields[0] is None
    else:
        assert map_columns(header, op).fields[0] == field


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Order ID", "id"),
        ("Invoice #", "id"),
        ("Invoice", "id"),
        ("Total", "amount"),
        ("Order Total", "amount"),
        ("Amount Paid", "paid"),
        ("Order Date", "date_created"),
        ("Item 1", "items"),
        ("Product", "product_id"),
        ("Refunded?", "is_refunded"),
        ("Tax (USD)", "tax"),
    ],
)
def test_order_columns(column: str, field: str) -> None:
    mapping = map_columns(
        [column, "Email", "Invoice ID"] if field != "id" else [column, "Email"], REGISTRY["order add"]
    )
    assert mapping.fields[0] == field


def test_a_spreadsheet_with_a_tag_per_column() -> None:
    op = REGISTRY["tag add"]
    mapping = map_columns(["Email", "Tag 1", "Tag 2", "Tag 3"], op)
    assert mapping.fields == ("email", "tags", "tags", "tags")
    assert raw_of(["jane@example.com", "VIP", "", "Webinar 2026, Attended"], mapping, op) == {
        "email": "jane@example.com",
        "tags": ["VIP", "Webinar 2026, Attended"],
    }


def test_an_unnamed_column_is_ignored_and_described() -> None:
    mapping = map_columns(["Email", "", "Tags"], REGISTRY["tag add"])
    assert mapping.fields == ("email", None, "tags")
    assert mapping.describe() == ["Email → email", "column 2 (no name): ignored", "Tags → tags"]


# ---- overrides ----


def test_overrides_match_columns_in_any_case_and_name_fields_by_alias() -> None:
    op = REGISTRY["contact add"]
    mapping = map_columns(
        ["Mail", "Vorname", "Plan", "Notes"],
        op,
        {"mail": "email", "VORNAME": "first", "Plan": "field.plan", "notes": "field.Notes"},
    )
    assert mapping.fields == ("email", "first_name", "field.plan", "field.Notes")
    assert mapping.describe() == ["Mail → email", "Vorname → first_name", "Plan → field.plan", "Notes → field.Notes"]


@pytest.mark.parametrize("ignore", ["", "-", " - "])
def test_an_override_ignores_a_column(ignore: str) -> None:
    mapping = map_columns(["Email", "Last Name", "Tags"], REGISTRY["contact add"], {"Last Name": ignore})
    assert mapping.fields == ("email", None, "tags")
    assert mapping.ignored == ("Last Name",)
    assert mapping.describe()[1] == "Last Name: ignored"


def test_an_override_can_settle_two_columns_for_one_field() -> None:
    header = ["Email", "E-mail", "First"]
    assert problems_of(header, "contact add") == [
        'Columns "Email" and "E-mail" both give E-mail (`email`): keep one, or ignore the other ("E-mail=-").'
    ]
    mapping = map_columns(header, REGISTRY["contact add"], {"E-mail": "-"})
    assert mapping.fields == ("email", None, "first_name")


# ---- problems, all at once ----


def test_no_column_matches_a_field() -> None:
    assert problems_of(["Name", "Phone"], "tag add") == [
        'None of the columns ("Name" and "Phone") matches a field of `tag add`. Name the columns after its fields, '
        'or map them ("Column=field"). Its fields: `email`, `contact_id`, `tags` (tag).'
    ]


def test_an_override_of_a_column_that_is_not_there() -> None:
    assert problems_of(["Email Address", "Tags"], "tag add", {"Email Adress": "email"}) == [
        'There is no column "Email Adress" to map to `email`. Did you mean "Email Address"? The columns are '
        '"Email Address" and "Tags".'
    ]


def test_an_override_to_a_field_the_operation_does_not_have() -> None:
    [problem] = problems_of(["Email", "Given"], "contact add", {"Given": "frist"})
    assert problem.startswith(
        '"Given" is mapped to `frist`, which is not a field of `contact add`. Did you mean `first`? Its fields: '
        "`email`, `contact_id`, `first_name` (first, firstname), `last_name` (last, lastname), `status`,"
    )
    assert "`field.<name>`" in problem


def test_three_columns_for_one_field() -> None:
    assert problems_of(["Ad ID", "ad", "AD_ID", "Spend", "Day"], "ad record") == [
        'Columns "Ad ID", "ad" and "AD_ID" all give Ad ID (`ad`): keep one, or ignore the others ("AD_ID=-").'
    ]


def test_two_columns_for_one_custom_field() -> None:
    assert problems_of(["Email", "field.plan", "Field: plan"], "contact add") == [
        'Columns "field.plan" and "Field: plan" both give `field.plan`: keep one, or ignore the other '
        '("Field: plan=-").'
    ]


def test_the_contact_is_required() -> None:
    assert problems_of(["First Name", "Tags", "Mail"], "contact add") == [
        'No column gives the contact: `contact add` needs an e-mail or a contact ID. Add an "Email" or "Contact ID" '
        'column, or map one ("Mail=email"). Columns not used: "Mail".'
    ]


def test_required_fields_are_named() -> None:
    assert problems_of(["Email", "Amount", "Product"], "subscription add") == [
        "No column gives Subscription ID (`id`), which `subscription add` requires. Add a column named "
        '"Subscription ID", or map one ("Column=id").',
        "No column gives Start date (`start_date`), which `subscription add` requires. Add a column named "
        '"Start date", or map one ("Column=start_date").',
        "No column gives Billing cycle (`billing_cycle`), which `subscription add` requires. Add a column named "
        '"Billing cycle", or map one ("Column=billing_cycle").',
    ]


def test_a_change_of_a_known_record_needs_no_contact() -> None:
    mapping = map_columns(["Order ID", "Refunded"], REGISTRY["order update"])
    assert mapping.fields == ("id", "is_refunded")


def test_every_problem_is_listed_at_once() -> None:
    problems = problems_of(
        ["Mail", "Tag", "Tags", "E-mail", "Email"],
        "contact add",
        {"Nmae": "first", "Tag": "labels"},
    )
    assert [problem.split(" ")[:3] for problem in problems] == [
        ["There", "is", "no"],  # the column
        ['"Tag"', "is", "mapped"],  # the field
        ["Columns", '"E-mail"', "and"],  # twice
    ]


# ---- rows as chat would give them ----


def test_raw_of_leaves_out_empty_cells_and_builds_entries_as_chat_does() -> None:
    op = REGISTRY["contact add"]
    mapping = map_columns(["Email", "First", "Tags", "field.plan", "Field: Seats", "Notes"], op)
    raw = raw_of(["jane@example.com", "  ", "VIP, Webinar 2026", "Pro", "", "ignored"], mapping, op)
    assert raw == {"email": "jane@example.com", "tags": ["VIP, Webinar 2026"], "custom_fields": ["plan = Pro"]}
    assert raw_of(["", "", "", "", "", ""], mapping, op) == {}


def test_raw_of_refuses_a_custom_field_cell_on_two_lines_as_chat_does() -> None:
    op = REGISTRY["contact add"]
    mapping = map_columns(["Email", "field.note"], op)
    with pytest.raises(InputError) as caught:
        raw_of(["jane@example.com", "Called twice.\nseats = 5"], mapping, op)
    assert str(caught.value) == (
        "Custom fields (`custom_fields`): the `field.note` cell goes on to another line; its value is one line. "
        "Example: `plan = Pro`"
    )


CHAT_EQUIVALENTS = [
    (
        "contact add",
        "First Name\tLast Name\tEmail\tTags\tfield.plan\tCreated\tSource\n"
        "Jane\tDoe\tjane@example.com\tVIP, Webinar 2026\tPro\t2026-01-15 09:30\tfacebook\n",
        'contact add jane@example.com first=Jane last=Doe tags="VIP, Webinar 2026" field.plan=Pro '
        'created="2026-01-15 09:30" source=facebook',
    ),
    (
        "contact add",
        "Contact ID,Status,field.seats,Field: plan\n12345,inactive,5,Team\n",
        "contact add 12345 status=inactive field.seats=5 field.plan=Team",
    ),
    (
        "tag add",
        "Email,Tag 1,Tag 2\nsam@example.com,VIP,Webinar 2026\n",
        'tag add sam@example.com tags=VIP tags="Webinar 2026"',
    ),
    (
        "tag remove",
        'Contact ID,Tags\n12345,"Trial, Smith Jones"\n',
        'tag remove 12345 tags="Trial, Smith Jones"',
    ),
    (
        "order add",
        "Order ID,Email,Item 1,Item 2,Tax,Order Date\n"
        "INV-1001,jane@example.com,Course | C-100 | 49.99,Book | B-7 | 10,4.50,2026-11-20 14:30\n",
        'order add INV-1001 jane@example.com item="Course | C-100 | 49.99" item="Book | B-7 | 10" tax=4.50 '
        'date="2026-11-20 14:30"',
    ),
    (
        "order add",
        "Invoice,Contact ID,Total,Product,Refunded?\nINV-2,12345,99,PRO,no\n",
        "order add INV-2 12345 total=99 product=PRO refunded=no",
    ),
    (
        "ad record",
        "Ad ID,Day,Spend (USD),Clicks (all),Impressions,Campaign ID,Campaign name\n"
        'AD-2001,2026-11-20,120.50,42,"12,000",CAMP-3,Black Friday\n',
        "ad record AD-2001 date=2026-11-20 spend=120.50 clicks=42 impressions=12,000 campaign=CAMP-3 "
        'campaign_name="Black Friday"',
    ),
    (
        "subscription add",
        "Subscription ID,Email,Price,Product,Start,Cycle,Trial\n"
        "SUB-1,jane@example.com,29,PRO-MONTHLY,2026-11-01,monthly,2026-12-15\n",
        "subscription add SUB-1 jane@example.com price=29 product=PRO-MONTHLY start=2026-11-01 cycle=monthly "
        "trial=2026-12-15",
    ),
]


@pytest.mark.parametrize(("op_name", "text", "command"), CHAT_EQUIVALENTS, ids=[case[2] for case in CHAT_EQUIVALENTS])
def test_a_row_reads_as_the_chat_command_with_the_same_keys(
    op_name: str, text: str, command: str, runner_ctx: Context
) -> None:
    op = REGISTRY[op_name]
    table = table_from_text(text)
    mapping = map_columns(table.header, op)
    [row] = table.rows()
    raw = raw_of(row.values, mapping, op)
    parsed = parse_command(command, REGISTRY)
    assert parsed.operation is op
    assert raw == parsed.raw
    assert op.validate(raw, runner_ctx) == op.validate(parsed.raw, runner_ctx)


def test_a_bad_row_fails_as_the_chat_command_does(runner_ctx: Context) -> None:
    op = REGISTRY["ad record"]
    table = table_from_text("Ad ID,Day,Spend,Campaign name\nAD-1,someday,12.x,Black Friday\n")
    [row] = table.rows()
    raw = raw_of(row.values, map_columns(table.header, op), op)
    parsed = parse_command('ad record AD-1 day=someday spend=12.x campaign_name="Black Friday"', REGISTRY)
    with pytest.raises(InputError) as from_row:
        op.validate(raw, runner_ctx)
    with pytest.raises(InputError) as from_chat:
        op.validate(parsed.raw, runner_ctx)
    assert from_row.value.errors == from_chat.value.errors
    assert len(from_row.value.errors) >= 2


def test_column_map_is_a_plain_value() -> None:
    mapping = ColumnMap("tag add", ("Email", "Tags"), ("email", "tags"), ())
    assert mapping == map_columns(["Email", "Tags"], REGISTRY["tag add"])
    with pytest.raises(AttributeError):
        mapping.fields = ()  # type: ignore[misc]
