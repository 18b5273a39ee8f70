"""Tags: add to or remove from a contact, without touching its other tags."""

from __future__ import annotations

from bot.context import Context
from bot.fields import TagList
from bot.operation import CONTACT, Resource, operation, param
from bot.segmetrics.request import ApiRequest
from commands.common import ContactRef

RESOURCE = Resource("tag", "Tags", aliases=("tags",), command="/sm-tag")


class TagInput(ContactRef):
    tags: TagList = param(
        title="Tags",
        hint='Comma-separated; a tag with a comma in it is written quoted: "Smith, Jones", VIP. `id:45` is the tag '
        "with id 45. In chat, each word is a tag: quote one with spaces.",
        examples=["VIP", "VIP, Webinar 2026", "id:45"],
        aliases=["tag"],
    )


@operation(
    "tag",
    "add",
    title="Tag a contact",
    shortcut="tag_contact",
    undo="remove",
    positional=[CONTACT, "tags"],
    done="tagged {contact} with {tags}",
    examples=["tag add jane@example.com VIP", 'tag add 12345 VIP "Webinar 2026" id:45'],
)
def add_tags(tagging: TagInput, ctx: Context) -> ApiRequest:
    """Add tags to a contact; its other tags stay."""
    return ApiRequest.post("tags/add", tagging.to_api(ctx))


@operation(
    "tag",
    "remove",
    also=["delete"],
    title="Remove tags",
    undo="add",
    confirm_when=lambda tagging: len(tagging.tags) > 1,
    positional=[CONTACT, "tags"],
    done="removed {tags} from {contact}",
    examples=["tag remove jane@example.com VIP", 'tag remove jane@example.com "Webinar 2026" Trial'],
)
def remove_tags(tagging: TagInput, ctx: Context) -> ApiRequest:
    """Remove tags from a contact; its other tags stay."""
    return ApiRequest.post("tags/remove", tagging.to_api(ctx))
