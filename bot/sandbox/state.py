"""The sandbox's in-memory SegMetrics: one account, one integration, answers as the documented contract says.

Everything here is pure: no sockets, no sleeping. `Sandbox.handle` turns one HTTP request into one
`SandboxResponse`; the adapters in `server.py` apply the delay and the disconnect it asks for, so the same
core serves the in-process httpx transport and the real HTTP server alike.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import hmac
import json
import os
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

JSON_TYPE = "application/json"
BILLING_CYCLES = ("year", "month", "week", "day")
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "status",
    "date_created",
    "last_updated",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "referring_url",
    "optin_url",
    "ip_address",
    "affiliate_id",
    "geo_lat",
    "geo_lon",
)
# Always present in a reporting answer, in this order, even when never sent.
REPORTED_CONTACT_FIELDS = (
    "contact_id",
    "first_name",
    "last_name",
    "email",
    "status",
    "date_created",
    "last_updated",
    "custom_fields",
)
SUBSCRIPTION_DATES = ("start_date", "last_bill_date", "trial_end_date", "end_date", "canceled_date")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_REDACTED = "[redacted]"


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour for the next matching request(s).

    With a `status`, the request is answered with it and never reaches the state. With `status=None` the
    request is handled normally and only slowed down or dropped, which is how a test provokes "the write
    happened but the answer was lost".
    """

    status: int | None = 503
    times: int = 1
    retry_after: float | None = None
    delay: float = 0.0
    disconnect: bool = False
    method: str | None = None
    path_contains: str | None = None
    body: dict[str, Any] | None = None

    def matches(self, method: str, decoded_path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or self.path_contains in decoded_path


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    status: int


@dataclass(frozen=True)
class SandboxResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0
    disconnect: bool = False


class _FaultSlot:
    """A fault and how many more requests it may spoil; the fault itself stays immutable."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    return SandboxResponse(
        status=status,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
        body=json.dumps(payload).encode(),
    )


def _error(status: int, *errors: str, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    return _answer(status, {"status": "error", "errors": list(errors)}, headers)


def _success(obj: str, key: str, **extra: Any) -> SandboxResponse:
    return _answer(200, {"status": "success", "object": obj, "id": key, **extra})


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but `true` is no amount of cents.
    return isinstance(value, int) and not isinstance(value, bool)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _fmt_seconds(value: float) -> str:
    return f"{value:g}"


# -- validation helpers: each appends the API's wording to `errors` and returns the clean value -------------


def _key(
    body: Mapping[str, Any], name: str, errors: list[str], *, prefix: str = "", required: bool = True
) -> str | None:
    value = body.get(name)
    if _blank(value):
        if required:
            errors.append(f"{prefix}missing '{name}' field")
        return None
    if not (isinstance(value, str) or _is_int(value)):
        errors.append(f"{prefix}'{name}' must be a string or a number")
        return None
    return str(value)


def _text(
    body: Mapping[str, Any], name: str, errors: list[str], *, prefix: str = "", required: bool = True
) -> str | None:
    value = body.get(name)
    if _blank(value):
        if required:
            errors.append(f"{prefix}missing '{name}' field")
        return None
    if not isinstance(value, str):
        errors.append(f"{prefix}'{name}' must be a string")
        return None
    return value


def _money(
    body: Mapping[str, Any], name: str, errors: list[str], *, prefix: str = "", required: bool = True
) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            errors.append(f"{prefix}missing '{name}' field")
        return None
    if not _is_int(value) or value < 0:
        errors.append(f"{prefix}'{name}' must be a whole number of cents")
        return None
    return int(value)


def _count(
    body: Mapping[str, Any], name: str, errors: list[str], *, minimum: int, required: bool = False
) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            errors.append(f"missing '{name}' field")
        return None
    if not _is_int(value) or value < minimum:
        wording = "a positive whole number" if minimum >= 1 else "a whole number >= 0"
        errors.append(f"'{name}' must be {wording}")
        return None
    return int(value)


def _timestamp(body: Mapping[str, Any], name: str, errors: list[str], *, required: bool = False) -> str | None:
    return _dated(
        body,
        name,
        errors,
        required=required,
        pattern=_DATETIME,
        layout="%Y-%m-%d %H:%M:%S",
        wording="YYYY-MM-DD HH:MM:SS",
    )


def _day(body: Mapping[str, Any], name: str, errors: list[str], *, required: bool = False) -> str | None:
    return _dated(body, name, errors, required=required, pattern=_DATE, layout="%Y-%m-%d", wording="YYYY-MM-DD")


def _dated(
    body: Mapping[str, Any],
    name: str,
    errors: list[str],
    *,
    required: bool,
    pattern: re.Pattern[str],
    layout: str,
    wording: str,
) -> str | None:
    value = body.get(name)
    if _blank(value):
        if required:
            errors.append(f"missing '{name}' field")
        return None
    if isinstance(value, str) and pattern.fullmatch(value):
        try:
            datetime.strptime(value, layout)
        except ValueError:
            pass
        else:
            return value
    errors.append(f"'{name}' must be {wording}")
    return None


def _email(body: Mapping[str, Any], errors: list[str]) -> str | None:
    value = body.get("email")
    if _blank(value):
        return None
    if not isinstance(value, str) or "@" not in value:
        errors.append("'email' must be an e-mail address")
        return None
    return value.strip()


def _contact_ref(body: Mapping[str, Any], errors: list[str]) -> tuple[str | None, str | None]:
    before = len(errors)
    contact_id = _key(body, "contact_id", errors, required=False)
    email = _email(body, errors)
    if contact_id is None and email is None and len(errors) == before:
        errors.append("missing 'contact_id' or 'email' field")
    return contact_id, email


@dataclass(frozen=True)
class _TagSpec:
    """A tag as the caller named it, checked but not yet applied, so a rejected request registers nothing."""

    tag_id: int | None
    name: str | None
    date: str | None


@dataclass(frozen=True)
class _AdRef:
    id: str
    name: str | None
    adset: _AdRef | None = None
    adcampaign: _AdRef | None = None


class Sandbox:
    """A thread-safe, in-memory SegMetrics account that records every request it is sent."""

    def __init__(
        self,
        *,
        api_key: str = "sandbox-key",
        account_id: str = "sandbox",
        integration_id: str = "sandbox",
        latency: float = 0.0,
        more_integrations: Collection[str] = (),
        more_keys: Collection[str] = (),
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.api_key = api_key
        self.account_id = account_id
        self.integration_id = integration_id
        # An account has several integrations (custom payments, custom ads), each reached with any of its keys.
        # They share one store of contacts, orders and ads here; the recorded requests say which was called.
        self.integration_ids = frozenset({integration_id, *more_integrations})
        self._keys = (api_key, *more_keys)
        self.latency = latency
        self._cond = threading.Condition(threading.RLock())
        self._requests: list[RecordedRequest] = []
        self._faults: list[_FaultSlot] = []
        self._clear_state()
        # Kept in a file (`shell`, `exec`, `serve` and `run` without credentials share one sandbox): read before
        # each request when another process changed it, written after each change, under a file lock.
        self.state_file = Path(state_file) if state_file is not None else None
        self._loaded: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"Sandbox(account_id={self.account_id!r}, integration_id={self.integration_id!r}, api_key=***)"

    @contextlib.contextmanager
    def _shared(self, *, writes: bool) -> Iterator[None]:
        """Around one request: the state as the file has it, and (`writes`) the file as the request left it."""
        if self.state_file is None:
            yield
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_file.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._load()
                yield
                if writes:
                    self._save()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> None:
        assert self.state_file is not None
        try:
            status = self.state_file.stat()
        except FileNotFoundError:
            if self._loaded is not None:  # reset meanwhile (`segmetrics-bot sandbox --reset`)
                self._clear_state()
                self._loaded = None
            return
        seen = (status.st_mtime_ns, status.st_size)
        if seen == self._loaded:
            return
        self._restore(json.loads(self.state_file.read_text(encoding="utf-8")))
        self._loaded = seen

    def _save(self) -> None:
        assert self.state_file is not None
        partial = self.state_file.with_suffix(".tmp")
        partial.write_text(json.dumps(self._snapshot(), ensure_ascii=False), encoding="utf-8")
        os.replace(partial, self.state_file)
        status = self.state_file.stat()
        self._loaded = (status.st_mtime_ns, status.st_size)

    def _snapshot(self) -> dict[str, Any]:
        return {
            "contacts": self._contacts,
            "touched": self._touched,
            "sequence": self._sequence,
            "generated": self._generated,
            "tags_by_name": self._tags_by_name,
            "tag_names": {str(tag_id): name for tag_id, name in self._tag_names.items()},
            "invoices": self._invoices,
            "subscriptions": self._subscriptions,
            "products": self._products,
            "ads": self._ads,
            "adsets": self._adsets,
            "adcampaigns": self._adcampaigns,
            "performance": [[list(key), value] for key, value in self._performance.items()],
        }

    def _restore(self, data: Mapping[str, Any]) -> None:
        self._clear_state()
        self._contacts = dict(data.get("contacts") or {})
        self._touched = {key: int(value) for key, value in (data.get("touched") or {}).items()}
        self._sequence = int(data.get("sequence") or 0)
        self._generated = int(data.get("generated") or 0)
        self._tags_by_name = dict(data.get("tags_by_name") or {})
        self._tag_names = {int(tag_id): name for tag_id, name in (data.get("tag_names") or {}).items()}
        for name in ("invoices", "subscriptions", "products", "ads", "adsets", "adcampaigns"):
            setattr(self, f"_{name}", dict(data.get(name) or {}))
        self._performance = {(key[0], key[1]): value for key, value in data.get("performance") or []}

    def _clear_state(self) -> None:
        self._contacts: dict[str, dict[str, Any]] = {}
        # Update order, because last_updated has only one-second resolution and may be set by the caller.
        self._touched: dict[str, int] = {}
        self._sequence = 0
        self._generated = 0
        self._tags_by_name: dict[str, int] = {}
        self._tag_names: dict[int, str] = {}
        self._invoices: dict[str, dict[str, Any]] = {}
        self._subscriptions: dict[str, dict[str, Any]] = {}
        self._products: dict[str, dict[str, Any]] = {}
        self._ads: dict[str, dict[str, Any]] = {}
        self._adsets: dict[str, dict[str, Any]] = {}
        self._adcampaigns: dict[str, dict[str, Any]] = {}
        self._performance: dict[tuple[str, str], dict[str, Any]] = {}

    # -- control --------------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        with self._cond:
            self._faults.append(_FaultSlot(fault))

    def reset(self) -> None:
        with self._cond:
            self._clear_state()
            self._requests.clear()
            self._faults.clear()
            if self.state_file is not None:
                self.state_file.unlink(missing_ok=True)
                self._loaded = None

    def reset_requests(self) -> None:
        """Forget the recorded requests, keep the data (after seeding it)."""
        with self._cond:
            self._requests.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    def wait_for(self, predicate: Callable[[RecordedRequest], bool], timeout: float = 5.0) -> RecordedRequest:
        """Block until a request matching `predicate` has been recorded (already or later) and return it."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for request in self._requests[seen:]:
                    if predicate(request):
                        return request
                seen = len(self._requests)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            recorded = "; ".join(f"{r.method} {r.path} -> {r.status}" for r in self._requests[-20:]) or "nothing"
            raise TimeoutError(
                f"no recorded request matched within {timeout:g} s; "
                f"{len(self._requests)} recorded (latest last): {recorded}"
            )

    # -- read-only views for tests --------------------------------------------------------------------

    def contacts(self) -> list[dict[str, Any]]:
        with self._cond:
            return [copy.deepcopy(contact) for contact in self._contacts.values()]

    def contact(self, contact_id_or_email: str) -> dict[str, Any] | None:
        with self._cond:
            found = self._find_contact(contact_id_or_email)
            return copy.deepcopy(found) if found is not None else None

    def _view(self, store: dict[str, dict[str, Any]], key: str | int) -> dict[str, Any] | None:
        with self._cond:
            return copy.deepcopy(store.get(str(key)))

    def invoice(self, invoice_id: str | int) -> dict[str, Any] | None:
        return self._view(self._invoices, invoice_id)

    def subscription(self, subscription_id: str | int) -> dict[str, Any] | None:
        return self._view(self._subscriptions, subscription_id)

    def product(self, product_id: str | int) -> dict[str, Any] | None:
        return self._view(self._products, product_id)

    def ad(self, ad_id: str | int) -> dict[str, Any] | None:
        return self._view(self._ads, ad_id)

    def ad_performance(self, ad_id: str | int, date: str) -> dict[str, Any] | None:
        """The day's numbers, with the ad, its ad set and its campaign as they are now."""
        with self._cond:
            record = self._performance.get((str(ad_id), date))
            if record is None:
                return None
            ad = self._ads.get(record["ad_id"], {})
            return copy.deepcopy(
                {
                    **record,
                    "ad": ad,
                    "adset": self._adsets.get(ad.get("adset_id") or ""),
                    "adcampaign": self._adcampaigns.get(ad.get("adcampaign_id") or ""),
                }
            )

    def tag_names(self, contact_id_or_email: str) -> list[str]:
        with self._cond:
            found = self._find_contact(contact_id_or_email)
            return [tag["name"] for tag in found["tags"]] if found is not None else []

    def tag_registry(self) -> dict[str, int]:
        with self._cond:
            return dict(self._tags_by_name)

    # -- the request funnel ---------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> SandboxResponse:
        method = method.upper()
        path = path or "/"
        segments = [unquote(part) for part in path.lstrip("/").split("/")]
        if len(segments) > 1 and segments[-1] == "":
            segments.pop()
        if segments[0] == "_sandbox":
            return self._control(method, segments[1:], body)
        lowered = {name.lower(): value for name, value in headers.items()}
        parsed = _parse_json(body)
        with self._cond, self._shared(writes=method != "GET"):
            slot = self._take_fault(method, unquote(path))
            fault = slot.fault if slot is not None else None
            delay = self.latency + (fault.delay if fault is not None else 0.0)
            if fault is None or fault.status is None:
                response = self._route(method, segments, query, lowered, parsed)
            else:
                response = self._fault_answer(fault)
            if fault is not None and fault.disconnect:
                # A disconnect with a status never reaches the state; without one, the answer is what is lost.
                response = SandboxResponse(0, {}, b"", disconnect=True)
            self._requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    query=dict(parse_qsl(query, keep_blank_values=True)),
                    headers=lowered,
                    body=body,
                    json=parsed,
                    status=response.status,
                )
            )
            self._cond.notify_all()
        return replace(response, delay=max(0.0, delay))

    def _take_fault(self, method: str, decoded_path: str) -> _FaultSlot | None:
        for slot in self._faults:
            if slot.remaining > 0 and slot.fault.matches(method, decoded_path):
                slot.remaining -= 1
                self._faults = [s for s in self._faults if s.remaining > 0]
                return slot
        return None

    @staticmethod
    def _fault_answer(fault: Fault) -> SandboxResponse:
        status = fault.status if fault.status is not None else 503
        payload = fault.body if fault.body is not None else {"status": "error", "errors": [f"sandbox fault {status}"]}
        headers = {"Retry-After": _fmt_seconds(fault.retry_after)} if fault.retry_after is not None else {}
        return _answer(status, payload, headers)

    def _route(
        self, method: str, segments: list[str], query: str, headers: Mapping[str, str], body: Any
    ) -> SandboxResponse:
        given = headers.get("authorization", "").encode()
        if not any([hmac.compare_digest(given, key.encode()) for key in self._keys]):
            return _error(401, "invalid API key")
        if segments[:2] == ["api", "v1"] and len(segments) >= 3:
            if segments[2] != self.account_id:
                return _forbidden(segments[2])
            if len(segments) < 4:
                return _error(404, "no such endpoint")
            if segments[3] not in self.integration_ids:
                return _error(404, f"integration {segments[3]} not found")
            return self._import(method, segments[4:], body)
        if segments[0] == "reporting" and len(segments) >= 2:
            if segments[1] != self.account_id:
                return _forbidden(segments[1])
            return self._reporting(method, segments[2:], query)
        return _error(404, "no such endpoint")

    def _import(self, method: str, rest: list[str], body: Any) -> SandboxResponse:
        writes: dict[str, Callable[[dict[str, Any]], SandboxResponse]] = {
            "contact": self._upsert_contact,
            "tags/add": self._add_tags,
            "tags/remove": self._remove_tags,
            "invoice": self._upsert_invoice,
            "subscription": self._upsert_subscription,
            "ad/performance": self._record_ad_performance,
            "product": self._upsert_product,
        }
        write = writes.get("/".join(rest))
        if write is not None:
            if method != "POST":
                return _not_allowed(method, "POST")
            if not isinstance(body, dict):
                return _error(400, "body must be a JSON object")
            return write(body)
        if len(rest) == 2 and rest[0] in ("contact", "invoice", "subscription") and rest[1]:
            if method != "DELETE":
                return _not_allowed(method, "DELETE")
            return self._delete(rest[0], rest[1])
        return _error(404, "no such endpoint")

    def _reporting(self, method: str, rest: list[str], query: str) -> SandboxResponse:
        if len(rest) != 2 or rest[0] != "contact" or not rest[1]:
            return _error(404, "no such endpoint")
        if method != "GET":
            return _not_allowed(method, "GET")
        params = dict(parse_qsl(query, keep_blank_values=True))
        extend = {part.strip() for part in params.get("extend", "").split(",") if part.strip()}
        contact = self._find_contact(rest[1])
        if contact is None:
            return _error(404, "contact not found")
        return _answer(200, {"data": self._report(contact, extend)})

    # -- contacts -------------------------------------------------------------------------------------

    def _find_contact(self, contact_id_or_email: str) -> dict[str, Any] | None:
        found = self._contacts.get(contact_id_or_email)
        if found is None and "@" in contact_id_or_email:
            found = self._latest_by_email(contact_id_or_email)
        return found

    def _latest_by_email(self, email: str) -> dict[str, Any] | None:
        wanted = email.strip().casefold()
        matches = [c for c in self._contacts.values() if (c.get("email") or "").casefold() == wanted]
        return max(matches, key=lambda c: self._touched[c["contact_id"]], default=None)

    def _touch(self, contact: dict[str, Any]) -> None:
        self._sequence += 1
        self._touched[contact["contact_id"]] = self._sequence

    def _new_contact(self, contact_id: str | None, now: str) -> dict[str, Any]:
        if contact_id is None:
            while True:
                self._generated += 1
                contact_id = f"sbx-{self._generated}"
                if contact_id not in self._contacts:
                    break
        contact: dict[str, Any] = {
            "contact_id": contact_id,
            "email": None,
            "status": "active",
            "date_created": now,
            "last_updated": now,
            "custom_fields": {},
            "tags": [],
        }
        self._contacts[contact_id] = contact
        self._touch(contact)
        return contact

    def _upsert_contact(self, body: dict[str, Any]) -> SandboxResponse:
        errors: list[str] = []
        contact_id, email = _contact_ref(body, errors)
        status = body.get("status")
        if status is not None and status not in ("active", "inactive"):
            errors.append("'status' must be active or inactive")
        for name in ("date_created", "last_updated"):
            _timestamp(body, name, errors)
        tags = self._check_tags(body.get("tags"), errors, required=False) if "tags" in body else None
        custom = body.get("custom_fields")
        if custom is not None and not isinstance(custom, dict):
            errors.append("'custom_fields' must be an object")
        if errors:
            return _error(400, *errors)

        now = _now()
        contact = self._contacts.get(contact_id) if contact_id is not None else self._latest_by_email(email or "")
        if contact is None:
            contact = self._new_contact(contact_id, now)
        if email is not None:
            contact["email"] = email
        for name in CONTACT_FIELDS:
            if body.get(name) is not None:
                contact[name] = body[name]
        contact["last_updated"] = body.get("last_updated") or now
        if tags is not None:
            contact["tags"] = self._apply_tags(tags, now)
        for name, value in (custom or {}).items():
            if value is None:
                contact["custom_fields"].pop(name, None)
            else:
                contact["custom_fields"][name] = value
        self._touch(contact)
        return _success("contact", contact["contact_id"])

    def _change_tags(self, body: dict[str, Any], *, add: bool) -> SandboxResponse:
        errors: list[str] = []
        contact_id, email = _contact_ref(body, errors)
        tags = self._check_tags(body.get("tags"), errors, required=True)
        contact = None
        wanted = contact_id if contact_id is not None else email
        if wanted is not None:
            contact = self._contacts.get(wanted) if contact_id is not None else self._latest_by_email(wanted)
            if contact is None:
                errors.append(f"contact {wanted} not found")
        if errors or contact is None or tags is None:
            return _error(400, *errors)

        now = _now()
        if add:
            present = {tag["tag_id"] for tag in contact["tags"]}
            for tag in self._apply_tags(tags, now):
                if tag["tag_id"] not in present:
                    contact["tags"].append(tag)
                    present.add(tag["tag_id"])
        else:
            gone = {tag_id for tag_id in (self._tag_id(spec) for spec in tags) if tag_id is not None}
            contact["tags"] = [tag for tag in contact["tags"] if tag["tag_id"] not in gone]
        contact["last_updated"] = now
        self._touch(contact)
        return _success("contact", contact["contact_id"])

    def _add_tags(self, body: dict[str, Any]) -> SandboxResponse:
        return self._change_tags(body, add=True)

    def _remove_tags(self, body: dict[str, Any]) -> SandboxResponse:
        return self._change_tags(body, add=False)

    # -- tags -----------------------------------------------------------------------------------------

    def _check_tags(self, value: Any, errors: list[str], *, required: bool) -> list[_TagSpec] | None:
        if value is None:
            if required:
                errors.append("missing 'tags' field")
            return None
        if not isinstance(value, list) or (required and not value):
            errors.append("'tags' must be a non-empty list" if required else "'tags' must be a list")
            return None
        specs: list[_TagSpec] = []
        for index, item in enumerate(value):
            where = f"tags[{index}]"
            if _is_int(item):
                if item not in self._tag_names:
                    errors.append(f"unknown tag id {item}")
                specs.append(_TagSpec(item, None, None))
            elif isinstance(item, str) and item.strip():
                specs.append(_TagSpec(None, item.strip(), None))
            elif isinstance(item, dict):
                spec = self._check_tag_object(item, where, errors)
                if spec is not None:
                    specs.append(spec)
            else:
                errors.append(f"{where} must be a tag name, a tag id or an object")
        return specs

    def _check_tag_object(self, item: dict[str, Any], where: str, errors: list[str]) -> _TagSpec | None:
        before = len(errors)
        raw_id, name = item.get("id"), item.get("name")
        tag_id: int | None = None
        if not _blank(raw_id):
            digits = str(raw_id).strip()
            if (_is_int(raw_id) or isinstance(raw_id, str)) and digits.isascii() and digits.isdigit():
                tag_id = int(digits)
                if tag_id not in self._tag_names:
                    errors.append(f"unknown tag id {tag_id}")
            else:
                errors.append(f"{where} 'id' must be a whole number")
        if not _blank(name) and not isinstance(name, str):
            errors.append(f"{where} 'name' must be a string")
        elif tag_id is None and _blank(name) and len(errors) == before:
            errors.append(f"{where} missing 'id' or 'name' field")
        date = _timestamp(item, "date", errors)
        if len(errors) > before:
            return None
        return _TagSpec(tag_id, name.strip() if isinstance(name, str) and name.strip() else None, date)

    def _tag_id(self, spec: _TagSpec) -> int | None:
        if spec.tag_id is not None:
            return spec.tag_id
        return self._tags_by_name.get(spec.name or "")

    def _apply_tags(self, specs: list[_TagSpec], now: str) -> list[dict[str, Any]]:
        applied: dict[int, dict[str, Any]] = {}
        for spec in specs:
            tag_id = self._tag_id(spec)
            if tag_id is None:
                tag_id = max(self._tag_names, default=0) + 1
                self._tags_by_name[spec.name or ""] = tag_id
                self._tag_names[tag_id] = spec.name or ""
            applied.setdefault(
                tag_id, {"tag_id": tag_id, "name": self._tag_names[tag_id], "date_created": spec.date or now}
            )
        return list(applied.values())

    # -- orders, subscriptions, products, ads ---------------------------------------------------------

    def _upsert_invoice(self, body: dict[str, Any]) -> SandboxResponse:
        errors: list[str] = []
        invoice_id = _key(body, "id", errors)
        contact_id, email = _contact_ref(body, errors)
        amount = _money(body, "amount", errors)
        paid = _money(body, "paid", errors)
        extras = {name: _money(body, name, errors, required=False) for name in ("discount", "tax", "shipping")}
        date_created = _timestamp(body, "date_created", errors, required=True)
        refunded = body.get("is_refunded")
        if refunded is not None and refunded not in (True, False):
            errors.append("'is_refunded' must be true or false")
        items = self._check_items(body, errors)
        if contact_id is not None and contact_id not in self._contacts:
            errors.append(f"contact {contact_id} not found")
        if errors or invoice_id is None or items is None:
            return _error(400, *errors)

        lines = []
        for number, item in enumerate(items, start=1):
            line = {**item, "id": item.get("id") or f"{invoice_id}-{number}"}
            self._products.setdefault(line["product_id"], {"id": line["product_id"], "name": line["name"]})
            lines.append(line)
        self._invoices[invoice_id] = {
            "id": invoice_id,
            "contact_id": contact_id,
            "email": email,
            "amount": amount,
            "paid": paid,
            "date_created": date_created,
            "is_refunded": bool(refunded),
            **{name: value for name, value in extras.items() if value is not None},
            "items": lines,
        }
        return _success("invoice", invoice_id)

    @staticmethod
    def _check_items(body: dict[str, Any], errors: list[str]) -> list[dict[str, Any]] | None:
        value = body.get("items")
        if value is None:
            errors.append("missing 'items' field")
            return None
        if not isinstance(value, list) or not value:
            errors.append("'items' must be a non-empty list")
            return None
        items: list[dict[str, Any]] = []
        for index, item in enumerate(value):
            prefix = f"items[{index}] "
            if not isinstance(item, dict):
                errors.append(f"{prefix}must be an object")
                continue
            before = len(errors)
            line: dict[str, Any] = {
                "name": _text(item, "name", errors, prefix=prefix),
                "product_id": _key(item, "product_id", errors, prefix=prefix),
                "amount": _money(item, "amount", errors, prefix=prefix),
            }
            for name in ("id", "subscription_id"):
                if (key := _key(item, name, errors, prefix=prefix, required=False)) is not None:
                    line[name] = key
            if (total_paid := _money(item, "total_paid", errors, prefix=prefix, required=False)) is not None:
                line["total_paid"] = total_paid
            if len(errors) == before:
                items.append(line)
        return items

    def _upsert_subscription(self, body: dict[str, Any]) -> SandboxResponse:
        errors: list[str] = []
        subscription_id = _key(body, "id", errors)
        contact_id, email = _contact_ref(body, errors)
        amount = _money(body, "amount", errors)
        product_id = _key(body, "product_id", errors)
        name = _text(body, "name", errors, required=False)
        dates = {
            field: _timestamp(body, field, errors, required=field in ("start_date", "last_bill_date"))
            for field in SUBSCRIPTION_DATES
        }
        cycle = body.get("billing_cycle")
        if _blank(cycle):
            errors.append("missing 'billing_cycle' field")
        elif cycle not in BILLING_CYCLES:
            errors.append(f"'billing_cycle' must be one of {', '.join(BILLING_CYCLES)}")
        frequency = _count(body, "frequency", errors, minimum=1, required=True)
        quantity = _count(body, "quantity", errors, minimum=1)
        if errors or subscription_id is None or product_id is None:
            return _error(400, *errors)

        product = self._products.setdefault(product_id, {"id": product_id, "name": name or product_id})
        self._subscriptions[subscription_id] = {
            "id": subscription_id,
            "contact_id": contact_id,
            "email": email,
            "product_id": product_id,
            "name": name or product["name"],
            "amount": amount,
            "billing_cycle": cycle,
            "frequency": frequency,
            "quantity": quantity if quantity is not None else 1,
            **dates,
        }
        return _success("subscription", subscription_id)

    def _upsert_product(self, body: dict[str, Any]) -> SandboxResponse:
        errors: list[str] = []
        product_id = _key(body, "id", errors)
        name = _text(body, "name", errors)
        if errors or product_id is None:
            return _error(400, *errors)
        self._products[product_id] = {"id": product_id, "name": name}
        return _success("product", product_id)

    def _record_ad_performance(self, body: dict[str, Any]) -> SandboxResponse:
        errors: list[str] = []
        ad = _ad_ref(body.get("ad"), "ad", errors, children=("adset", "adcampaign"), required=True)
        adset = _ad_ref(body.get("adset"), "adset", errors, children=("adcampaign",))
        adcampaign = _ad_ref(body.get("adcampaign"), "adcampaign", errors, children=())
        spend = _money(body, "spend", errors)
        date = _day(body, "date", errors, required=True)
        clicks = _count(body, "clicks", errors, minimum=0)
        impressions = _count(body, "impressions", errors, minimum=0)
        if errors or ad is None or date is None:
            return _error(400, *errors)

        adset = ad.adset or adset
        adcampaign = ad.adcampaign or (adset.adcampaign if adset else None) or adcampaign
        if adcampaign is not None:
            _register(self._adcampaigns, adcampaign, {})
        links = {"adcampaign_id": adcampaign.id} if adcampaign is not None else {}
        if adset is not None:
            _register(self._adsets, adset, links)
            links = {**links, "adset_id": adset.id}
        _register(self._ads, ad, links)
        record = self._performance.setdefault((ad.id, date), {"ad_id": ad.id, "date": date})
        record["spend"] = spend
        for name, value in (("clicks", clicks), ("impressions", impressions)):
            if value is not None:
                record[name] = value
        return _success("ad_performance", ad.id, date=date)

    # -- deletes and reads ----------------------------------------------------------------------------

    def _delete(self, resource: str, key: str) -> SandboxResponse:
        if resource == "contact":
            if "@" in key:
                wanted = key.strip().casefold()
                doomed = [cid for cid, c in self._contacts.items() if (c.get("email") or "").casefold() == wanted]
            else:
                doomed = [key] if key in self._contacts else []
            for contact_id in doomed:
                del self._contacts[contact_id]
                del self._touched[contact_id]
            found = bool(doomed)
        else:
            store = self._invoices if resource == "invoice" else self._subscriptions
            found = store.pop(key, None) is not None
        if not found:
            return _error(404, f"{resource} not found")
        return _answer(200, {"id": key, "status": "success", "object": resource, "deleted": True})

    def _belongs(self, record: Mapping[str, Any], contact: Mapping[str, Any]) -> bool:
        if record.get("contact_id") is not None and record["contact_id"] == contact["contact_id"]:
            return True
        email, mine = record.get("email"), contact.get("email")
        return bool(email and mine and email.casefold() == mine.casefold())

    def _report(self, contact: dict[str, Any], extend: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {name: copy.deepcopy(contact.get(name)) for name in REPORTED_CONTACT_FIELDS}
        for name in CONTACT_FIELDS:
            if name not in data and contact.get(name) is not None:
                data[name] = contact[name]
        if "tags" in extend:
            data["tags"] = copy.deepcopy(contact["tags"])
        if "orders" in extend:
            data["orders"] = [
                {
                    "order_id": invoice["id"],
                    "total": invoice["amount"],
                    "total_paid": invoice["paid"],
                    "is_refunded": invoice["is_refunded"],
                    "date_created": invoice["date_created"],
                    "line_items": [
                        {"name": line["name"], "product_id": line["product_id"], "amount": line["amount"]}
                        for line in invoice["items"]
                    ],
                }
                for invoice in self._invoices.values()
                if self._belongs(invoice, contact)
            ]
        if "subscriptions" in extend:
            data["subscriptions"] = [
                {
                    "subscription_id": sub["id"],
                    "product_id": sub["product_id"],
                    "name": sub["name"],
                    "amount": sub["amount"],
                    "billing_cycle": sub["billing_cycle"],
                    "frequency": sub["frequency"],
                    "quantity": sub["quantity"],
                    **{name: sub[name] for name in SUBSCRIPTION_DATES},
                }
                for sub in self._subscriptions.values()
                if self._belongs(sub, contact)
            ]
        if "events" in extend:
            data["events"] = []
        return data

    # -- the control endpoints ------------------------------------------------------------------------

    def _control(self, method: str, rest: list[str], body: bytes) -> SandboxResponse:
        """For a sandbox in another process; unauthenticated, unrecorded and never faulted."""
        where = "/".join(rest)
        if where == "requests":
            if method != "GET":
                return _not_allowed(method, "GET")
            return _answer(200, [self._public(request) for request in self.requests])
        if where == "reset":
            if method != "POST":
                return _not_allowed(method, "POST")
            self.reset()
            return _answer(200, {"status": "success", "object": "sandbox", "reset": True})
        if where == "faults":
            if method != "POST":
                return _not_allowed(method, "POST")
            parsed = _parse_json(body)
            if not isinstance(parsed, dict):
                return _error(400, "body must be a JSON object")
            fault, errors = _fault_from(parsed)
            if fault is None:
                return _error(400, *errors)
            self.add_fault(fault)
            return _answer(200, {"status": "success", "object": "fault"})
        return _error(404, "no such endpoint")

    def _public(self, request: RecordedRequest) -> dict[str, Any]:
        """A recorded request as shown to other processes: headers left out, the key scrubbed everywhere."""
        return {
            "method": request.method,
            "path": self._scrub(request.path),
            "query": self._scrub(request.query),
            "json": self._scrub(request.json),
            "status": request.status,
        }

    def _scrub(self, value: Any) -> Any:
        if not self.api_key:
            return value
        if isinstance(value, str):
            for key in self._keys:
                value = value.replace(key, _REDACTED) if key else value
            return value
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        if isinstance(value, dict):
            return {self._scrub(name): self._scrub(item) for name, item in value.items()}
        return value


def _forbidden(account: str) -> SandboxResponse:
    return _error(403, f"API key does not belong to account {account}")


def _not_allowed(method: str, allowed: str) -> SandboxResponse:
    return _error(405, f"method {method} not allowed here", headers={"Allow": allowed})


def _ad_ref(
    value: Any, label: str, errors: list[str], *, children: tuple[str, ...], required: bool = False
) -> _AdRef | None:
    if _blank(value):
        if required:
            errors.append(f"missing '{label}' field")
        return None
    if isinstance(value, str) or _is_int(value):
        return _AdRef(str(value), None)
    if not isinstance(value, dict):
        errors.append(f"'{label}' must be an id or an object")
        return None
    before = len(errors)
    ref_id = _key(value, "id", errors, prefix=f"{label} ")
    name = _text(value, "name", errors, prefix=f"{label} ", required=False)
    nested: dict[str, _AdRef | None] = {}
    for child in children:
        grandchildren = ("adcampaign",) if child == "adset" else ()
        nested[child] = _ad_ref(value.get(child), f"{label}.{child}", errors, children=grandchildren)
    if len(errors) > before or ref_id is None:
        return None
    return _AdRef(ref_id, name, nested.get("adset"), nested.get("adcampaign"))


def _register(registry: dict[str, dict[str, Any]], ref: _AdRef, links: Mapping[str, str]) -> None:
    """Create the ad object, or rename and relink it; an id alone never erases a known name."""
    entry = registry.setdefault(ref.id, {"id": ref.id, "name": None})
    if ref.name is not None:
        entry["name"] = ref.name
    entry.update(links)


def _fault_from(data: dict[str, Any]) -> tuple[Fault | None, list[str]]:
    known = {f.name for f in fields(Fault)}
    errors = [f"unknown fault field '{name}'" for name in data if name not in known]
    checks: dict[str, Callable[[Any], bool]] = {
        "status": lambda v: v is None or (_is_int(v) and 100 <= v <= 599),
        "times": lambda v: _is_int(v) and v >= 1,
        "retry_after": lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool) and v >= 0),
        "delay": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 0,
        "disconnect": lambda v: isinstance(v, bool),
        "method": lambda v: v is None or isinstance(v, str),
        "path_contains": lambda v: v is None or isinstance(v, str),
        "body": lambda v: v is None or isinstance(v, dict),
    }
    for name, check in checks.items():
        if name in data and not check(data[name]):
            errors.append(f"invalid fault field '{name}'")
    if errors:
        return None, errors
    return Fault(**{name: value for name, value in data.items() if name in known}), []
