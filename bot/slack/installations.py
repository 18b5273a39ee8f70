"""Where a bot installed by link keeps its installations: slack-sdk's SQLAlchemy installation and OAuth state
stores, in the bot's own database, with every token encrypted by SEGMETRICS_BOT_SECRET_KEY.

The stores are slack-sdk's, unchanged but for the type of the token columns (`Sealed`: Fernet on the way in,
out on the way back); Bolt's OAuth flow wants them asynchronous, so `Installations` and `States` run them on the
bot's store thread, where every other database call runs.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Dialect, Text, select
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from bot.keyring import Keyring
from bot.store import AsyncStore

log = logging.getLogger("segmetrics_slack.installations")

S = TypeVar("S")

# What an installation holds that lets anyone act as the bot (or the installer): never stored in the clear.
SEALED_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token", "incoming_webhook_url")
# How long an "Add to Slack" link stays good (Bolt's default): the state it carries is consumed on return.
STATE_SECONDS = 600


class Sealed(TypeDecorator[str]):
    """A text column kept encrypted (`Keyring`: Fernet, the first key encrypts, every key decrypts)."""

    impl = Text
    cache_ok = True

    def __init__(self, keyring: Keyring) -> None:
        super().__init__()
        self.keyring = keyring

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.keyring.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.keyring.decrypt(value)


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack-sdk's SQLAlchemy installation store, its tokens encrypted at rest."""

    def __init__(self, client_id: str, engine: Engine, keyring: Keyring) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        for table in (self.installations, self.bots):
            for name in SEALED_COLUMNS:
                if name in table.c:
                    # Before the tables are made: the columns are created as TEXT (a sealed token is longer).
                    table.c[name].type = Sealed(keyring)

    def installed_teams(self) -> list[str]:
        """The workspaces that have the bot installed now (a bot token kept for them)."""
        c = self.bots.c
        query = select(c.team_id).where(c.client_id == self.client_id, c.bot_token.is_not(None)).distinct()
        with self.engine.connect() as connection:
            return sorted(str(row[0]) for row in connection.execute(query) if row[0])

    def enterprise_of(self, team: str) -> str | None:
        """The Enterprise Grid organization a workspace's installation is kept under (None: not in one)."""
        c = self.bots.c
        query = select(c.enterprise_id).where(c.client_id == self.client_id, c.team_id == team).limit(1)
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return str(row[0]) if row is not None and row[0] else None


class _OnStoreThread(Generic[S]):
    """One of slack-sdk's synchronous stores (`sync`), its calls run on the bot's store thread (`_call`)."""

    def __init__(self, sync: S, store: AsyncStore) -> None:
        self.sync = sync
        self._call = store.call

    @property
    def logger(self) -> logging.Logger:
        return log


class Installations(_OnStoreThread[SealedInstallationStore], AsyncInstallationStore):
    """`SealedInstallationStore` as Bolt's asynchronous OAuth flow takes it."""

    async def async_save(self, installation: Installation) -> None:
        await self._call(self.sync.save, installation=installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await self._call(self.sync.save_bot, bot=bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await self._call(
            self.sync.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await self._call(
            self.sync.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._call(self.sync.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._call(self.sync.delete_installation, enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._call(self.sync.delete_all, enterprise_id=enterprise_id, team_id=team_id)

    async def installed_teams(self) -> list[str]:
        return await self._call(self.sync.installed_teams)

    async def enterprise_of(self, team: str) -> str | None:
        return await self._call(self.sync.enterprise_of, team)


class States(_OnStoreThread[SQLAlchemyOAuthStateStore], AsyncOAuthStateStore):
    """slack-sdk's SQLAlchemy OAuth state store (one use each, expiring): replicas behind one load balancer share
    it, so the browser may come back to any of them."""

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await self._call(self._issue)

    def _issue(self) -> str:
        # slack-sdk never deletes a state nobody came back with: each visit to the install page would leave one.
        table = self.sync.oauth_states
        with self.sync.engine.begin() as connection:
            connection.execute(table.delete().where(table.c.expire_at < datetime.now(UTC).replace(tzinfo=None)))
        return self.sync.issue()

    async def async_consume(self, state: str) -> bool:
        return await self._call(self.sync.consume, state)


def open_installations(client_id: str, keyring: Keyring, store: AsyncStore) -> tuple[Installations, States]:
    """The installation and state stores in the bot's database, their tables made where missing."""
    engine = store.store.engine
    installations = SealedInstallationStore(client_id, engine, keyring)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=log)
    store.store.create_tables(installations.metadata, states.metadata)
    return Installations(installations, store), States(states, store)
