"""Every SegMetrics operation the bot offers, one declaration each. Importing this checks them all."""

from bot.operation import Registry
from commands import ads, api_call, contacts, orders, subscriptions, tags

REGISTRY = Registry.from_modules(contacts, tags, orders, subscriptions, ads, api_call)

__all__ = ["REGISTRY"]
