"""Field declarations shared by several operations: the contact an operation is about."""

from __future__ import annotations

from typing import Any

from bot.fields import ContactId, EmailAddress
from bot.operation import Input, param


def email_param(title: str = "E-mail") -> Any:
    return param(
        None,
        title=title,
        hint="Give the e-mail, the contact ID, or both (the contact ID wins).",
        examples=["jane@example.com"],
    )


def contact_id_param(title: str = "Contact ID", hint: str = "") -> Any:
    return param(
        None,
        title=title,
        hint=hint or "The contact's id in your CRM; when given, SegMetrics matches on it rather than the e-mail.",
        examples=["12345"],
    )


class ContactRef(Input):
    """The contact an operation is about; operations on a contact extend it."""

    email: EmailAddress | None = email_param()
    contact_id: ContactId | None = contact_id_param()
