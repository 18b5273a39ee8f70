"""Contacts: add or update, delete, look up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from bot.context import Context
from bot.dates import describe_datetime
from bot.fields import (
    IP,
    CustomFields,
    Identifier,
    Latitude,
    Longitude,
    Name,
    TagList,
    WebAddress,
    WhenPast,
    choice,
)
from bot.operation import CONTACT, Fact, Resource, operation, param
from bot.segmetrics.client import contact_lookup_request
from bot.segmetrics.request import ApiRequest, ApiResponse
from commands.common import ContactRef

RESOURCE = Resource("contact", "Contacts", aliases=("contacts",), command="/sm-contact")

STATUS = choice(
    ("active", "Active"), ("inactive", "Inactive"), synonyms=[("enabled", "active"), ("disabled", "inactive")]
)


class ContactInput(ContactRef):
    first_name: Name | None = param(None, title="First name", examples=["Jane"], aliases=["first", "firstname"])
    last_name: Name | None = param(None, title="Last name", examples=["Doe"], aliases=["last", "lastname"])
    status: Annotated[str, STATUS] | None = param(
        None, title="Status", hint="Leave it out to keep the current status (new contacts are active)."
    )
    date_created: WhenPast | None = param(
        None, title="Created", examples=["2026-01-15 09:30", "last Monday 9am"], aliases=["created"]
    )
    last_updated: WhenPast | None = param(None, title="Last updated", examples=["today 10am"], aliases=["updated"])
    tags: TagList | None = param(
        None,
        title="Tags",
        hint='Comma-separated (a tag with a comma in it is written quoted: "Smith, Jones", VIP). Replaces ALL the '
        "contact's tags; to add or remove some, use `tag add` or `tag remove`.",
        examples=["VIP, Webinar 2026"],
    )
    custom_fields: CustomFields | None = param(
        None,
        title="Custom fields",
        hint="One per line as `name = value`; an empty value removes the field. In chat: field.plan=Pro",
        examples=["plan = Pro"],
        prefix="field",
    )
    utm_source: Name | None = param(None, title="UTM source", examples=["facebook"], aliases=["source"])
    utm_medium: Name | None = param(None, title="UTM medium", examples=["cpc"], aliases=["medium"])
    utm_campaign: Name | None = param(None, title="UTM campaign", examples=["black-friday"], aliases=["campaign"])
    utm_content: Name | None = param(None, title="UTM content", examples=["video-ad-2"], aliases=["content"])
    utm_term: Name | None = param(None, title="UTM term", examples=["marketing course"], aliases=["term"])
    referring_url: WebAddress | None = param(
        None, title="Referring URL", examples=["https://google.com"], aliases=["referrer", "referer"]
    )
    optin_url: WebAddress | None = param(
        None, title="Opt-in URL", examples=["https://example.com/webinar"], aliases=["optin"]
    )
    ip_address: IP | None = param(None, title="IP address", examples=["203.0.113.7"], aliases=["ip"])
    affiliate_id: Identifier | None = param(None, title="Affiliate ID", examples=["AFF-42"], aliases=["affiliate"])
    geo_lat: Latitude | None = param(None, title="Latitude", examples=["40.7128"], aliases=["lat", "latitude"])
    geo_lon: Longitude | None = param(
        None, title="Longitude", examples=["-74.0060"], aliases=["lon", "lng", "longitude"]
    )


@operation(
    "contact",
    "add",
    also=["update"],
    title="Add or update contact",
    shortcut="add_contact",
    positional=[CONTACT],
    done="saved contact {contact}",
    examples=[
        "contact add jane@example.com first=Jane last=Doe",
        'contact update 12345 email=jane@example.com tags="VIP, Webinar 2026" field.plan=Pro',
    ],
)
def add_contact(contact: ContactInput, ctx: Context) -> ApiRequest:
    """Create a contact, or update the one with this contact ID (else this e-mail)."""
    return ApiRequest.post("contact", contact.to_api(ctx))


def _status(contact: ContactRef, response: ApiResponse, ctx: Context) -> Sequence[Fact]:
    return [*(Fact(spec.title, spec.kind.describe(value, ctx), spec.name) for spec, value in contact.values()),
            Fact("Status", "inactive", "status")]  # fmt: skip


@operation(
    "contact",
    "deactivate",
    title="Deactivate contact",
    positional=[CONTACT],
    done="deactivated contact {contact}",
    summarize=_status,
    ruled_like=add_contact,
    examples=["contact deactivate jane@example.com", "contact deactivate 12345"],
)
def deactivate_contact(contact: ContactRef, ctx: Context) -> ApiRequest:
    """Mark a contact inactive; everything else about it stays (`contact update … status=active` undoes it)."""
    return ApiRequest.post("contact", {**contact.to_api(ctx), "status": "inactive"})


@operation(
    "contact",
    "delete",
    title="Delete contact",
    positional=[CONTACT],
    done="deleted contact {contact}",
    not_found="SegMetrics has no contact {contact}; nothing was deleted.",
    destructive=True,
    snapshot="show",
    examples=["contact delete jane@example.com", "contact delete 12345"],
)
def delete_contact(contact: ContactRef, ctx: Context) -> ApiRequest:
    """Delete a contact for good. By e-mail, every contact with that e-mail in the integration goes;
    their orders stay."""
    return ApiRequest.delete("contact", contact.contact)


MAX_CUSTOM_FIELDS_SHOWN = 5


def _card(contact: ContactRef, response: ApiResponse, ctx: Context) -> Sequence[Fact]:
    data: dict[str, Any] = (response.body or {}).get("data") or {}
    name = " ".join(part for part in (data.get("first_name"), data.get("last_name")) if part)
    facts = [
        Fact("Name", name or "(no name)"),
        Fact("E-mail", data.get("email") or "(none)", "email"),
        Fact("Contact ID", str(data.get("contact_id", "")), "contact_id"),
        Fact("Status", data.get("status") or "active", "status"),
    ]
    created = _api_time(data.get("date_created"), ctx)
    if created:
        facts.append(Fact("Created", created, "date_created"))
    tags = [tag.get("name") or f"id:{tag.get('tag_id')}" for tag in data.get("tags") or []]
    facts.append(Fact("Tags", ", ".join(tags) if tags else "(none)", "tags"))
    orders = data.get("orders") or []
    paid = sum(int(order.get("total_paid") or 0) for order in orders if not order.get("is_refunded"))
    facts.append(Fact("Orders", f"{len(orders)} ({ctx.money.currency.format(paid)} paid)"))
    subscriptions = data.get("subscriptions") or []
    active = [sub for sub in subscriptions if not sub.get("canceled_date") and not sub.get("end_date")]
    facts.append(Fact("Subscriptions", f"{len(active)} active of {len(subscriptions)}"))
    custom = data.get("custom_fields") or {}
    if custom:
        shown = list(custom.items())[:MAX_CUSTOM_FIELDS_SHOWN]
        more = len(custom) - len(shown)
        text = "; ".join(f"{key}: {value}" for key, value in shown) + (f" (+{more} more)" if more > 0 else "")
        facts.append(Fact("Custom fields", text, "custom_fields"))
    return facts


def _api_time(value: Any, ctx: Context) -> str | None:
    """A date string from the API (written in SEGMETRICS_TIMEZONE) shown in the user's zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ctx.api_zone)
    return describe_datetime(moment, ctx.zone)


@operation(
    "contact",
    "show",
    also=["get", "lookup", "find"],
    title="Look up contact",
    positional=[CONTACT],
    done="contact {contact}",
    summarize=_card,
    not_found="SegMetrics has no contact {contact}.",
    examples=["contact show jane@example.com"],
    reads=True,
)
def show_contact(contact: ContactRef, ctx: Context) -> ApiRequest:
    """Show a contact from SegMetrics: name, status, tags, orders, subscriptions, custom fields."""
    return contact_lookup_request(contact.contact)
