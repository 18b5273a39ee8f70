"""The connections file (`SEGMETRICS_CONNECTIONS`): more SegMetrics connections, besides `default`.

    [connections.payments]
    api_key = "env:SEGMETRICS_PAYMENTS_KEY"   # "env:NAME" reads the key from the environment; a literal works too
    account_id = "1234"
    integration_id = "77"
    timezone = "America/New_York"             # optional; default SEGMETRICS_TIMEZONE
    currency = "USD"                          # optional; default SEGMETRICS_CURRENCY
    resources = ["contact", "tag", "order", "subscription"]   # the default for these (optional)
    channels = ["#sales", "C0SALES12"]        # the default in these channels (optional)

Every mistake is found before the bot starts, and all of them are listed at once, each naming the file and
the section and showing a line that works. A key is never in a message, whatever is wrong with it.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from pydantic import SecretStr

from bot.connections import DEFAULT, NAME, NAME_RULE, Connection, channel_entry, conflicts, id_problem
from bot.distance import closest

ENV_PREFIX = "env:"
KEYS = ("api_key", "account_id", "integration_id", "timezone", "currency", "resources", "channels")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# One line, so that a list of problems stays one problem a line.
EXAMPLE = (
    '[connections.payments] with api_key = "env:SEGMETRICS_PAYMENTS_KEY", account_id = "1234", integration_id = "77"'
)


class ConnectionsFileError(ValueError):
    """The connections file is wrong. `problems` has one line per mistake; `str()` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        if len(self.problems) == 1:
            text = self.problems[0]
        else:
            text = f"{len(self.problems)} problems:\n" + "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(text)


def load_connections(
    path: str,
    *,
    timezone: str,
    currency: str,
    resources: Collection[str],
    environ: Mapping[str, str],
    env_default: bool,
) -> list[Connection]:
    """The connections `path` declares (source "file"), in the file's order; `ConnectionsFileError` listing
    every problem. `timezone` and `currency` are the defaults (SEGMETRICS_TIMEZONE, SEGMETRICS_CURRENCY);
    `resources` the names a connection may be the default for; `environ` where `env:NAME` keys are read;
    `env_default`: the environment already defines the connection `default`."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConnectionsFileError([f"cannot read {path} ({error.strerror})"]) from None
    except UnicodeDecodeError:
        raise ConnectionsFileError([f"{path} is not UTF-8 text; save it as UTF-8"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConnectionsFileError([f"{path} is not valid TOML ({error})"]) from None
    return _Reader(path, timezone, currency, resources, environ, env_default).read(data)


class _Reader:
    def __init__(
        self,
        path: str,
        timezone: str,
        currency: str,
        resources: Collection[str],
        environ: Mapping[str, str],
        env_default: bool,
    ) -> None:
        self.path = path
        self.timezone = timezone
        self.currency = currency
        self.resources = sorted(resources)
        self.environ = environ
        self.env_default = env_default
        self.problems: list[str] = []

    def read(self, data: Mapping[str, Any]) -> list[Connection]:
        unknown = [name for name in data if name != "connections"]
        if unknown:
            self.problems.append(
                f"{self.path}: unknown section(s) {', '.join(f'[{name}]' for name in unknown)}; declare each "
                f"connection as [connections.<name>], e.g. {EXAMPLE}"
            )
        sections = data.get("connections", {})
        if not isinstance(sections, Mapping):
            self.problems.append(f"{self.path}: `connections` is a section per connection, e.g. {EXAMPLE}")
            sections = {}
        found: list[Connection] = []
        claims: list[Connection] = []
        for name, body in sections.items():
            connection, claim = self._section(name, body)
            if connection is not None:
                found.append(connection)
            if claim is not None:
                claims.append(claim)
        self.problems.extend(f"{self.path}: {problem}" for problem in conflicts(claims))
        if self.problems:
            raise ConnectionsFileError(self.problems)
        return found

    def _section(self, name: str, body: Any) -> tuple[Connection | None, Connection | None]:
        """The connection (None when it has problems), and what it claims (for the conflicts check)."""
        where = f"{self.path} {_section_name(name)}"
        before = len(self.problems)

        def problem(text: str) -> None:
            self.problems.append(f"{where}: {text}")

        if not NAME.fullmatch(name):
            problem(f"{json.dumps(name, ensure_ascii=False)} is not a connection name: {NAME_RULE}")
        elif name == DEFAULT and self.env_default:
            problem(
                "the environment (SEGMETRICS_API_KEY, SEGMETRICS_ACCOUNT_ID, SEGMETRICS_INTEGRATION_ID) already "
                "defines the connection `default`; give this one another name, e.g. [connections.payments], or "
                "unset those three variables to define `default` here"
            )
        if not isinstance(body, Mapping):
            problem(f"give a section of settings, e.g. {EXAMPLE}")
            return None, None
        for key in body:
            if key not in KEYS:
                near = closest(key, list(KEYS))
                hint = f"did you mean `{near}`? " if near else ""
                problem(f"unknown setting `{key}`; {hint}a connection takes {', '.join(KEYS)}")

        api_key = self._api_key(body, problem)
        account_id = self._id(body, "account_id", "1234", problem)
        integration_id = self._id(body, "integration_id", "77", problem)
        timezone = self._timezone(body, problem)
        currency = self._currency(body, problem)
        resources = self._resources(body, problem)
        channels = self._channels(body, problem)

        claim = Connection(
            name=name,
            api_key=SecretStr(""),
            account_id="",
            integration_id="",
            timezone="",
            currency="",
            resources=resources,
            channels=channels,
            source="file",
        )
        if len(self.problems) > before:
            return None, claim
        assert api_key is not None and account_id is not None and integration_id is not None
        connection = Connection(
            name=name,
            api_key=api_key,
            account_id=account_id,
            integration_id=integration_id,
            timezone=timezone,
            currency=currency,
            resources=resources,
            channels=channels,
            source="file",
        )
        return connection, claim

    def _api_key(self, body: Mapping[str, Any], problem: Callable[[str], None]) -> SecretStr | None:
        # Nothing here may echo the value: it is a key, or a key pasted where a variable's name belongs.
        example = 'e.g. api_key = "env:SEGMETRICS_PAYMENTS_KEY" (the key in that environment variable)'
        value = body.get("api_key")
        if value is None:
            problem(f"api_key is missing; {example}")
            return None
        if not isinstance(value, str):
            problem(f"api_key must be text in quotes; {example}")
            return None
        if value.startswith(ENV_PREFIX):
            variable = value[len(ENV_PREFIX) :].strip()
            if not _ENV_NAME.fullmatch(variable):
                problem(f'api_key = "env:…" must name an environment variable (letters, digits and _); {example}')
                return None
            key = self.environ.get(variable, "").strip()
            if not key:
                problem(
                    f"api_key reads the environment variable {variable}, which is not set in the bot's "
                    f"environment; set {variable} to the connection's SegMetrics API key"
                )
                return None
            where = f"the environment variable {variable}"
        else:
            key = value.strip()
            if not key:
                problem(f"api_key is empty; {example}")
                return None
            if key in self.environ and _ENV_NAME.fullmatch(key):
                # The name of a variable that is set, written without `env:` (a name, so it may be shown).
                problem(f'api_key names the environment variable {key}: write api_key = "env:{key}" to read it')
                return None
            where = "api_key"
        # It travels in an HTTP header: printable ASCII only.
        if any(not 33 <= ord(char) <= 126 for char in key):
            problem(f"{where} has characters an API key cannot have; paste it again without spaces or quotes")
            return None
        return SecretStr(key)

    def _id(self, body: Mapping[str, Any], key: str, sample: str, problem: Callable[[str], None]) -> str | None:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            problem(f'{key} is missing; e.g. {key} = "{sample}"')
            return None
        if not isinstance(value, str):
            problem(f'{key} must be text in quotes; e.g. {key} = "{sample}"')
            return None
        clean = value.strip()
        wrong = id_problem(clean)
        if wrong:
            problem(f'{key} {json.dumps(clean)} {wrong}; e.g. {key} = "{sample}"')
            return None
        return clean

    def _timezone(self, body: Mapping[str, Any], problem: Callable[[str], None]) -> str:
        value = body.get("timezone", self.timezone)
        example = 'e.g. timezone = "America/New_York", or leave it out for SEGMETRICS_TIMEZONE'
        if not isinstance(value, str):
            problem(f"timezone must be text in quotes; {example}")
            return self.timezone
        clean = value.strip()
        try:
            ZoneInfo(clean)
        except (ZoneInfoNotFoundError, ValueError):
            problem(f"timezone {json.dumps(value)} is not an IANA time zone; {example}")
            return self.timezone
        return clean

    def _currency(self, body: Mapping[str, Any], problem: Callable[[str], None]) -> str:
        value = body.get("currency", self.currency)
        example = 'e.g. currency = "USD" (or EUR, GBP…), or leave it out for SEGMETRICS_CURRENCY'
        if not isinstance(value, str):
            problem(f"currency must be text in quotes; {example}")
            return self.currency
        code = value.strip().upper()
        if code not in list_currencies():
            problem(f"currency {json.dumps(value)} is not an ISO 4217 currency code; {example}")
            return self.currency
        return code

    def _resources(self, body: Mapping[str, Any], problem: Callable[[str], None]) -> tuple[str, ...]:
        value = body.get("resources", [])
        example = 'e.g. resources = ["order", "subscription"]'
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            problem(f"resources must be a list of resource names; {example}")
            return ()
        found: list[str] = []
        for item in items:
            clean = item.strip().lower()
            if clean in self.resources:
                if clean not in found:
                    found.append(clean)
                continue
            near = closest(clean, self.resources)
            hint = f"did you mean `{near}`? " if near else ""
            problem(
                f"resources: {json.dumps(item)} is not a resource; {hint}the resources are "
                f"{', '.join(self.resources)}; {example}"
            )
        return tuple(found)

    def _channels(self, body: Mapping[str, Any], problem: Callable[[str], None]) -> tuple[str, ...]:
        value = body.get("channels", [])
        example = 'e.g. channels = ["#sales", "C0SALES12"]'
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            problem(f"channels must be a list of channels; {example}")
            return ()
        found: list[str] = []
        for item in items:
            try:
                channel = channel_entry(item)
            except ValueError as error:
                problem(f"channels: {error}; {example}")
                continue
            if channel not in found:
                found.append(channel)
        return tuple(found)


def _section_name(name: str) -> str:
    """The section's header as the file writes it: `[connections.payments]`, `[connections."Pay ments"]`."""
    return f"[connections.{name if _BARE_KEY.fullmatch(name) else json.dumps(name, ensure_ascii=False)}]"
