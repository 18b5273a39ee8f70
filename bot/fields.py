"""Field kinds: how one field's text becomes a value, goes to the API, and is shown back.

A kind is put on a declaration's field with `Annotated` (see the aliases at the bottom: `Cents`,
`When`, `Tags`, …). The machinery reads the kind to pick a widget, parse chat text and modal
values, and describe what was sent; pydantic calls it to validate, with the user's `Context`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ValidationInfo
from pydantic_core import PydanticCustomError, core_schema

from bot.context import Context
from bot.dates import API_DATETIME_FORMAT, Prefer, describe_date, describe_datetime, to_api_date, to_api_datetime
from bot.problems import InvalidValue
from bot.segmetrics.paths import check_header, resolve_raw_path

Widget = Literal["text", "multiline", "select"]
ERROR_TYPE = "segmetrics_invalid"


@dataclass(frozen=True)
class Known:
    """A value already read (from a record of what SegMetrics holds): validation takes it as it is, so an
    update re-checks the whole record's rules without reading its values again."""

    value: Any


class Kind:
    """Base of every field kind. Subclasses implement `read` (or `read_many` when `many`)."""

    widget: ClassVar[Widget] = "text"
    # Accepts several entries: repeated `key=` in chat, one per line in a form.
    many: ClassVar[bool] = False
    # As the last positional, takes the rest of the chat text untouched (a JSON body).
    takes_rest: ClassVar[bool] = False
    # Commas split an entry into several values (tags), except inside quotes: chat keeps a quoted word in
    # its quotes so that `"A, B"` stays one value.
    quotes_group: ClassVar[bool] = False
    # As the last positional, the bare words after it are more of it: `subscription end SUB-1 next Friday 5pm`.
    joins_words: ClassVar[bool] = False
    example: str = ""

    def read(self, raw: str, ctx: Context) -> Any:
        raise NotImplementedError

    def read_many(self, raw: list[str], ctx: Context) -> Any:
        raise NotImplementedError

    def to_api(self, value: Any, ctx: Context) -> Any:
        return value

    def from_api(self, value: Any, ctx: Context) -> Any:
        """What `to_api` sent, read back (a kept record becomes the value it was made from)."""
        return value

    def describe(self, value: Any, ctx: Context) -> str:
        """The value for a human, as SegMetrics received it."""
        return str(value)

    def to_text(self, value: Any, ctx: Context) -> str:
        """The value as a user could type it again (to prefill a form)."""
        return self.describe(value, ctx)

    def options(self) -> tuple[tuple[str, str], ...]:
        """(value, label) pairs when the widget is a select."""
        return ()

    def localize(self, example: str, ctx: Context) -> str:
        """A declared example as this workspace would write it (money in its own currency)."""
        return example

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(self._validate)

    def _validate(self, value: Any, info: ValidationInfo) -> Any:
        ctx = info.context
        if not isinstance(ctx, Context):
            raise TypeError("operation input must be validated with context=Context(...)")
        if isinstance(value, Known):
            return value.value
        try:
            if self.many:
                entries = [value] if isinstance(value, str) else [str(entry) for entry in value]
                return self.read_many(entries, ctx)
            if not isinstance(value, str):
                raise InvalidValue("was given more than once", example=self.example or None)
            return self.read(value, ctx)
        except InvalidValue as problem:
            raise PydanticCustomError(
                ERROR_TYPE, "{message}", {"message": problem.message, "examples": problem.examples}
            ) from None


def _lines(entries: list[str]) -> list[str]:
    """Entries from chat are one each; a form's multiline text holds many: one per non-blank line."""
    return [line.strip() for entry in entries for line in entry.splitlines() if line.strip()]


@dataclass(frozen=True)
class Text(Kind):
    max_length: int = 255
    example: str = ""

    def read(self, raw: str, ctx: Context) -> str:
        text = " ".join(raw.split())
        if not text:
            raise InvalidValue("is empty", example=self.example or None)
        if len(text) > self.max_length:
            raise InvalidValue(f"is {len(text)} characters long; the limit is {self.max_length}")
        return text


@dataclass(frozen=True)
class Key(Text):
    """An id that becomes part of a URL (an invoice, a contact ID): one made only of dots is refused, as it
    would name another address of the API (`..` is the integration itself)."""

    def read(self, raw: str, ctx: Context) -> str:
        text = super().read(raw, ctx)
        if not text.strip("."):
            raise InvalidValue(f"`{text}` is not an id: an id made only of dots would address another endpoint",
                               example=self.example or None)  # fmt: skip
        return text


@dataclass(frozen=True)
class Email(Kind):
    example: str = "jane@example.com"

    def read(self, raw: str, ctx: Context) -> str:
        text = raw.strip()
        if not text:
            raise InvalidValue("is empty", example=self.example)
        # Imported on first use: start-up does not wait for it (see `Runner.warm_up`).
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError as error:
            reason = str(error).removeprefix("The email address is not valid. ").rstrip(".")
            raise InvalidValue(f"`{text}` is not an e-mail address ({reason})", example=self.example) from None


@dataclass(frozen=True)
class Money(Kind):
    example: str = "49.99"

    def read(self, raw: str, ctx: Context) -> int:
        return ctx.money.parse(raw)

    def from_api(self, value: Any, ctx: Context) -> int:
        return int(value)

    def describe(self, value: int, ctx: Context) -> str:
        return ctx.money.currency.format(value)

    def to_text(self, value: int, ctx: Context) -> str:
        return ctx.money.plain(value)

    def localize(self, example: str, ctx: Context) -> str:
        try:
            return ctx.money.currency.format(ctx.money.parse(example))
        except InvalidValue:
            return ctx.money.example


@dataclass(frozen=True)
class Moment(Kind):
    """A date and time, read in the user's zone and locale, sent as `YYYY-MM-DD HH:MM:SS` in
    SEGMETRICS_TIMEZONE. `prefer="past"`: a field about the past, which refuses a moment still to come;
    `prefer="future"`: one about the future, which takes a past moment but says so in the confirmation."""

    prefer: Prefer = "current_period"
    example: str = "yesterday 3pm"
    joins_words: ClassVar[bool] = True

    def read(self, raw: str, ctx: Context) -> datetime:
        return ctx.dates.read(raw, zone=ctx.zone, now=ctx.now, prefer=self.prefer, locale=ctx.locale)

    def to_api(self, value: datetime, ctx: Context) -> str:
        return to_api_datetime(value, ctx.api_zone)

    def from_api(self, value: str, ctx: Context) -> datetime:
        return datetime.strptime(value, API_DATETIME_FORMAT).replace(tzinfo=ctx.api_zone)

    def describe(self, value: datetime, ctx: Context) -> str:
        shown = describe_datetime(value, ctx.zone)
        if self.prefer == "future" and value < ctx.now:
            return f"{shown} (already past)"
        return shown

    def to_text(self, value: datetime, ctx: Context) -> str:
        local = value.astimezone(ctx.zone)
        # Seconds only when there are some: written back, the value reads as the same moment.
        return f"{local:%Y-%m-%d %H:%M:%S}" if local.second else f"{local:%Y-%m-%d %H:%M}"


@dataclass(frozen=True)
class Day(Kind):
    """A calendar day as the user means it ("yesterday" in their zone), sent as `YYYY-MM-DD`."""

    prefer: Prefer = "past"
    example: str = "yesterday"
    joins_words: ClassVar[bool] = True

    def read(self, raw: str, ctx: Context) -> date:
        return ctx.dates.read(raw, zone=ctx.zone, now=ctx.now, prefer=self.prefer, locale=ctx.locale,
                              whole_day=True).date()  # fmt: skip

    def to_api(self, value: date, ctx: Context) -> str:
        return to_api_date(value)

    def from_api(self, value: str, ctx: Context) -> date:
        return date.fromisoformat(value)

    def describe(self, value: date, ctx: Context) -> str:
        return describe_date(value)

    def to_text(self, value: date, ctx: Context) -> str:
        return value.isoformat()


_WHOLE = re.compile(r"[0-9]{1,3}(,[0-9]{3})+|[0-9]+")


@dataclass(frozen=True)
class Count(Kind):
    """A whole number: clicks, impressions, frequency, quantity. `1,000` is a thousand."""

    minimum: int = 0
    maximum: int = 10**12
    example: str = "120"

    def read(self, raw: str, ctx: Context) -> int:
        text = raw.strip().replace("_", "")
        if not text:
            raise InvalidValue("is empty", example=self.example)
        if text.startswith(("-", "−")):
            raise InvalidValue(f"`{text}` is negative; give {self.minimum} or more", example=self.example)
        if not _WHOLE.fullmatch(text):
            raise InvalidValue(f"`{text}` is not a whole number", example=self.example)
        number = int(text.replace(",", ""))
        if number < self.minimum:
            raise InvalidValue(f"is {number}; give {self.minimum} or more", example=self.example)
        if number > self.maximum:
            raise InvalidValue(f"`{text}` is larger than {self.maximum:,}", example=self.example)
        return number

    def from_api(self, value: Any, ctx: Context) -> int:
        return int(value)


@dataclass(frozen=True)
class Choice(Kind):
    """One of a few values, case-insensitive, with synonyms (`monthly` → `month`)."""

    choices: tuple[tuple[str, str], ...] = ()
    synonyms: tuple[tuple[str, str], ...] = ()
    widget: ClassVar[Widget] = "select"

    @property
    def example(self) -> str:  # type: ignore[override]
        return self.choices[0][0] if self.choices else ""

    def read(self, raw: str, ctx: Context) -> str:
        text = raw.strip().lower()
        lookup = {value.lower(): value for value, _ in self.choices}
        lookup.update({word.lower(): value for word, value in self.synonyms})
        if text in lookup:
            return lookup[text]
        valid = ", ".join(f"`{value}`" for value, _ in self.choices)
        raise InvalidValue(f"`{raw.strip()}` is not one of {valid}", example=self.example)

    def options(self) -> tuple[tuple[str, str], ...]:
        return self.choices


@dataclass(frozen=True)
class YesNo(Kind):
    widget: ClassVar[Widget] = "select"
    example: str = "yes"

    def read(self, raw: str, ctx: Context) -> bool:
        text = raw.strip().lower()
        if text in ("yes", "y", "true", "on", "1"):
            return True
        if text in ("no", "n", "false", "off", "0"):
            return False
        raise InvalidValue(f"`{raw.strip()}` is not yes or no", example=("yes", "no"))

    def describe(self, value: bool, ctx: Context) -> str:
        return "yes" if value else "no"

    def options(self) -> tuple[tuple[str, str], ...]:
        return (("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class Url(Kind):
    example: str = "https://example.com/webinar"

    def read(self, raw: str, ctx: Context) -> str:
        from urllib.parse import urlsplit

        text = raw.strip()
        if not text:
            raise InvalidValue("is empty", example=self.example)
        if re.fullmatch(r"[\w.-]+\.[A-Za-z]{2,}(/\S*)?", text):
            text = "https://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or "." not in parts.netloc or re.search(r"\s", text):
            raise InvalidValue(f"`{text}` is not a web address", example=self.example)
        if len(text) > 2000:
            raise InvalidValue(f"is {len(text)} characters long; the limit is 2000")
        return text


@dataclass(frozen=True)
class IpAddress(Kind):
    example: str = "203.0.113.7"

    def read(self, raw: str, ctx: Context) -> str:
        try:
            return str(ipaddress.ip_address(raw.strip()))
        except ValueError:
            raise InvalidValue(f"`{raw.strip()}` is not an IPv4 or IPv6 address", example=self.example) from None


@dataclass(frozen=True)
class Coordinate(Kind):
    """Decimal degrees; `limit` is 90 for a latitude, 180 for a longitude."""

    limit: int = 90
    example: str = "40.7128"

    def read(self, raw: str, ctx: Context) -> float:
        text = raw.strip().replace("−", "-")
        if not re.fullmatch(r"-?[0-9]{1,3}(\.[0-9]{1,8})?", text):
            raise InvalidValue(f"`{text}` is not decimal degrees", example=self.example)
        value = Decimal(text)
        if abs(value) > self.limit:
            raise InvalidValue(f"`{text}` is outside -{self.limit}…{self.limit}", example=self.example)
        return float(value)


_TAG_ID = re.compile(r"id:\s*([0-9]+)", re.IGNORECASE)
MAX_TAGS = 100
_TAG_QUOTES = {'"': '"”“', "“": '”"', "”": '”"', "„": '“”"', "'": "'’", "‘": "’'", "’": "’'"}


def split_tags(entry: str) -> list[str]:
    """One entry of tags split at its commas, except inside quotes: `"Smith, Jones", VIP` is two tags.
    A quote opens only where a tag starts; one never closed is refused, not guessed around."""
    tags: list[str] = []
    index, length = 0, len(entry)
    while index < length:
        while index < length and (entry[index].isspace() or entry[index] == ","):
            index += 1
        if index >= length:
            break
        opener = entry[index]
        if opener in _TAG_QUOTES:
            close = next(
                (
                    at
                    for at in range(index + 1, length)
                    if entry[at] in _TAG_QUOTES[opener] and (at + 1 == length or entry[at + 1] in ", \t\n")
                ),
                None,
            )
            if close is None:
                raise InvalidValue(
                    f"the quote before `{entry[index : index + 30]}` is never closed; close it, or leave it out",
                    example='"Smith, Jones", VIP',
                )
            tags.append(entry[index + 1 : close])
            index = close + 1
            continue
        comma = entry.find(",", index)
        comma = length if comma < 0 else comma
        tags.append(entry[index:comma])
        index = comma
    return tags


@dataclass(frozen=True)
class Tags(Kind):
    """Tag names, or `id:45` for tag id 45; commas separate tags within one entry, except inside quotes
    (a tag with a comma in it is written quoted, in chat and in forms alike)."""

    many: ClassVar[bool] = True
    quotes_group: ClassVar[bool] = True
    example: str = "VIP, Webinar 2026"

    def read_many(self, raw: list[str], ctx: Context) -> list[str | int]:
        tags: list[str | int] = []
        for entry in raw:
            for part in split_tags(entry):
                name = " ".join(part.split())
                if not name:
                    continue
                if len(name) > 255:
                    raise InvalidValue(f"the tag `{name[:30]}…` is over 255 characters")
                match = _TAG_ID.fullmatch(name)
                tag: str | int = int(match.group(1)) if match else name
                if tag not in tags:
                    tags.append(tag)
        if not tags:
            raise InvalidValue("names no tag", example=self.example)
        if len(tags) > MAX_TAGS:
            raise InvalidValue(f"names {len(tags)} tags; at most {MAX_TAGS} at once")
        return tags

    def to_api(self, value: list[str | int], ctx: Context) -> list[Any]:
        if all(isinstance(tag, str) for tag in value) or all(isinstance(tag, int) for tag in value):
            return list(value)
        return [{"id": tag} if isinstance(tag, int) else {"name": tag} for tag in value]

    def from_api(self, value: list[Any], ctx: Context) -> list[str | int]:
        return [(tag.get("id") if "id" in tag else tag.get("name")) if isinstance(tag, dict) else tag for tag in value]

    def describe(self, value: list[str | int], ctx: Context) -> str:
        return ", ".join(f"id:{tag}" if isinstance(tag, int) else tag for tag in value)

    def to_text(self, value: list[str | int], ctx: Context) -> str:
        return ", ".join(f"id:{tag}" if isinstance(tag, int) else quote_tag(tag) for tag in value)


def quote_tag(tag: str) -> str:
    """A tag as it is typed in a comma-separated list: quoted when a comma (or a leading quote) would
    otherwise split or open it."""
    if "," not in tag and tag[:1] not in _TAG_QUOTES:
        return tag
    return f"'{tag}'" if '"' in tag else f'"{tag}"'


@dataclass(frozen=True)
class KeyValues(Kind):
    """`name = value` pairs, one per line (chat: `field.name=value`). An empty value means null."""

    separator: str = "="
    allow_null: bool = True
    check_key: Callable[[str], str] | None = None
    widget: ClassVar[Widget] = "multiline"
    many: ClassVar[bool] = True
    example: str = "plan = Pro"

    def read_many(self, raw: list[str], ctx: Context) -> dict[str, str | None]:
        pairs: dict[str, str | None] = {}
        for line in _lines(raw):
            key, sep, value = line.partition(self.separator)
            key, value = key.strip(), value.strip()
            if not sep or not key:
                raise InvalidValue(f"the line `{line}` is not `name {self.separator} value`", example=self.example)
            if self.check_key is not None:
                key = self.check_key(key)
            if not value and not self.allow_null:
                raise InvalidValue(f"`{key}` has no value", example=self.example)
            if key in pairs:
                raise InvalidValue(f"`{key}` is given twice")
            pairs[key] = value or None
        if not pairs:
            raise InvalidValue("is empty", example=self.example)
        return pairs

    def describe(self, value: dict[str, str | None], ctx: Context) -> str:
        return "; ".join(f"{key}: {'(removed)' if item is None else item}" for key, item in value.items())

    def to_text(self, value: dict[str, str | None], ctx: Context) -> str:
        return "\n".join(f"{key} {self.separator} {item or ''}".rstrip() for key, item in value.items())


@dataclass(frozen=True)
class OrderItem:
    name: str
    product_id: str
    amount: int
    subscription_id: str | None = None


MAX_ITEMS = 50


@dataclass(frozen=True)
class Items(Kind):
    """Order items, one per line: `name | product id | price`, and `| subscription id` when the line
    pays for a subscription."""

    widget: ClassVar[Widget] = "multiline"
    many: ClassVar[bool] = True
    example: str = "Course | C-100 | 49.99"

    def read_many(self, raw: list[str], ctx: Context) -> list[OrderItem]:
        lines = _lines(raw)
        if not lines:
            raise InvalidValue("is empty", example=self.example)
        if len(lines) > MAX_ITEMS:
            raise InvalidValue(f"has {len(lines)} items; at most {MAX_ITEMS}")
        items = []
        for number, line in enumerate(lines, start=1):
            where = f"item {number} (`{line}`)" if len(lines) > 1 else f"`{line}`"
            parts = [part.strip() for part in line.split("|")]
            if len(parts) not in (3, 4) or not all(parts):
                raise InvalidValue(
                    f"{where} is not `name | product id | price` (and optionally `| subscription id`)",
                    example=(self.example, f"{self.example} | SUB-1001"),
                )
            name, product_id, price, *subscription = parts
            try:
                amount = ctx.money.parse(price)
            except InvalidValue as problem:
                raise InvalidValue(f"{where}: the price {problem.message}", example=self.example) from None
            items.append(OrderItem(name, product_id, amount, subscription[0] if subscription else None))
        return items

    def from_api(self, value: list[dict[str, Any]], ctx: Context) -> list[OrderItem]:
        return [
            OrderItem(line["name"], line["product_id"], int(line["amount"]), line.get("subscription_id"))
            for line in value
        ]

    def to_api(self, value: list[OrderItem], ctx: Context) -> list[dict[str, Any]]:
        lines = []
        for item in value:
            line: dict[str, Any] = {"name": item.name, "product_id": item.product_id, "amount": item.amount}
            if item.subscription_id:
                line["subscription_id"] = item.subscription_id
            lines.append(line)
        return lines

    def describe(self, value: list[OrderItem], ctx: Context) -> str:
        return "; ".join(
            f"{item.name} ({item.product_id}) {ctx.money.currency.format(item.amount)}"
            + (f" for subscription {item.subscription_id}" if item.subscription_id else "")
            for item in value
        )

    def to_text(self, value: list[OrderItem], ctx: Context) -> str:
        return "\n".join(
            " | ".join(
                [item.name, item.product_id, ctx.money.plain(item.amount)]
                + ([item.subscription_id] if item.subscription_id else [])
            )
            for item in value
        )

    def localize(self, example: str, ctx: Context) -> str:
        name, _, rest = example.partition("|")
        product_id, _, price = rest.partition("|")
        return f"{name.strip()} | {product_id.strip()} | {Money().localize(price.strip(), ctx)}"


MAX_JSON = 20_000
MAX_JSON_DEPTH = 32


def json_depth(text: str) -> int:
    """How deep `[` and `{` nest in `text`, outside strings (any quote style Slack may have curled)."""
    depth = deepest = 0
    quote: str | None = None
    escaped = False
    for char in text:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote or (quote == "“" and char == "”"):
                quote = None
        elif char in '"“':
            quote = char
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


@dataclass(frozen=True)
class Json(Kind):
    """A JSON document; in chat, the rest of the line after the path."""

    widget: ClassVar[Widget] = "multiline"
    takes_rest: ClassVar[bool] = True
    example: str = '{"email": "jane@example.com"}'

    def read(self, raw: str, ctx: Context) -> Any:
        text = raw.strip()
        if not text:
            raise InvalidValue("is empty", example=self.example)
        if len(text) > MAX_JSON:
            raise InvalidValue(f"is {len(text):,} characters long; the limit is {MAX_JSON:,}")
        depth = json_depth(text)
        if depth > MAX_JSON_DEPTH:
            # Checked before parsing: Python's parser (and every later dump) would hit its recursion limit.
            raise InvalidValue(f"nests {depth:,} levels deep; the limit is {MAX_JSON_DEPTH}", example=self.example)
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
        # Slack clients turn straight quotes into curly ones.
        straightened = text.translate(str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"}))
        try:
            return json.loads(straightened)
        except json.JSONDecodeError as error:
            raise InvalidValue(
                f"is not valid JSON ({error.msg} at character {error.pos + 1})", example=self.example
            ) from None

    def describe(self, value: Any, ctx: Context) -> str:
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 300 else text[:299] + "…"

    def to_text(self, value: Any, ctx: Context) -> str:
        return json.dumps(value, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class ApiPath(Kind):
    """A path under the Import API (checked: no other host, no `..`)."""

    example: str = "contact"

    def read(self, raw: str, ctx: Context) -> str:
        resolve_raw_path(raw, account_id=ctx.account_id, integration_id=ctx.integration_id)
        return raw.strip()


# The annotations declarations use: `amount: Cents`, `date_created: When`, …
ContactId = Annotated[str, Key(example="12345")]
Identifier = Annotated[str, Key(example="INV-1001")]
Name = Annotated[str, Text(example="Jane")]
EmailAddress = Annotated[str, Email()]
Cents = Annotated[int, Money()]
When = Annotated[datetime, Moment()]
WhenPast = Annotated[datetime, Moment(prefer="past", example="yesterday 3pm")]
WhenFuture = Annotated[datetime, Moment(prefer="future", example="next Friday")]
DayPast = Annotated[date, Day(prefer="past")]
WholeNumber = Annotated[int, Count()]
PositiveNumber = Annotated[int, Count(minimum=1, example="1")]
Flag = Annotated[bool, YesNo()]
WebAddress = Annotated[str, Url()]
IP = Annotated[str, IpAddress()]
Latitude = Annotated[float, Coordinate(limit=90, example="40.7128")]
Longitude = Annotated[float, Coordinate(limit=180, example="-74.0060")]
TagList = Annotated[list[str | int], Tags()]
CustomFields = Annotated[dict[str, str | None], KeyValues()]
Headers = Annotated[
    dict[str, str | None],
    KeyValues(separator=":", allow_null=False, check_key=check_header, example="X-Request-Source: slack"),
]
OrderItems = Annotated[list[OrderItem], Items()]
JsonBody = Annotated[Any, Json()]
Path = Annotated[str, ApiPath()]


def choice(*choices: tuple[str, str], synonyms: Sequence[tuple[str, str]] = ()) -> Choice:
    return Choice(choices=tuple(choices), synonyms=tuple(synonyms))
