"""Ad performance: one ad's spend, clicks and impressions for one day."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from bot.context import Context
from bot.fields import Cents, DayPast, Identifier, Name, WholeNumber
from bot.operation import Input, Resource, operation, param
from bot.problems import InputError
from bot.segmetrics.request import ApiRequest

RESOURCE = Resource("ad", "Ad performance", aliases=("ads",), command="/sm-ad")


class AdInput(Input):
    ad: Identifier = param(title="Ad ID", examples=["AD-2001"], aliases=["ad_id"])
    spend: Cents = param(title="Spend", examples=["120.50"], aliases=["cost"])
    date: DayPast = param(
        title="Day", hint="The day the spend is for.", examples=["yesterday", "2026-11-20"], aliases=["day"]
    )
    clicks: WholeNumber | None = param(None, title="Clicks", examples=["42"])
    impressions: WholeNumber | None = param(None, title="Impressions", examples=["12,000"], aliases=["views"])
    ad_name: Name | None = param(
        None,
        title="Ad name",
        hint="Giving a name creates the ad in SegMetrics when it is new.",
        examples=["Video 2"],
    )
    adset: Identifier | None = param(None, title="Ad set ID", examples=["SET-7"], aliases=["adset_id"])
    adset_name: Name | None = param(
        None, title="Ad set name", hint="Creates the ad set when new.", examples=["Lookalikes"]
    )
    adcampaign: Identifier | None = param(
        None, title="Campaign ID", examples=["CAMP-3"], aliases=["campaign", "campaign_id", "adcampaign_id"]
    )
    adcampaign_name: Name | None = param(
        None,
        title="Campaign name",
        hint="Creates the campaign when new.",
        examples=["Black Friday"],
        aliases=["campaign_name"],
    )

    @model_validator(mode="after")
    def _names_need_ids(self) -> AdInput:
        problems = []
        if self.adset_name and not self.adset:
            problems.append(self.field_error("adset_name", "needs the ad set's id too (`adset=`)", example="SET-7"))
        if self.adcampaign_name and not self.adcampaign:
            problems.append(
                self.field_error("adcampaign_name", "needs the campaign's id too (`adcampaign=`)", example="CAMP-3")
            )
        if problems:
            raise InputError(problems)
        return self


def _created(id: str, name: str | None, **parents: str | None) -> Any:
    """The id, or with a name the object that creates it in SegMetrics (with its parents' ids)."""
    if not name:
        return id
    return {"id": id, "name": name, **{key: value for key, value in parents.items() if value}}


@operation(
    "ad",
    "record",
    also=["add"],
    title="Record ad performance",
    shortcut="record_ad_spend",
    shortcut_name="Record ad spend",
    positional=["ad"],
    done="recorded {spend} of spend for ad {ad} on {date}",
    examples=[
        "ad record AD-2001 spend=120.50 date=yesterday clicks=42 impressions=12000",
        'ad add AD-2002 spend=80 date=2026-11-20 ad_name="Video 2" adcampaign=CAMP-3 adcampaign_name="Black Friday"',
    ],
)
def record_ad(ad: AdInput, ctx: Context) -> ApiRequest:
    """Record one ad's spend (and clicks, impressions) for one day. Names create the ad, ad set or
    campaign in SegMetrics when they are new."""
    payload = ad.to_api(ctx, exclude={"ad_name", "adset_name", "adcampaign_name"})
    payload["ad"] = _created(ad.ad, ad.ad_name, adset=ad.adset, adcampaign=ad.adcampaign)
    if ad.adset:
        payload["adset"] = _created(ad.adset, ad.adset_name, adcampaign=ad.adcampaign)
    if ad.adcampaign:
        payload["adcampaign"] = _created(ad.adcampaign, ad.adcampaign_name)
    return ApiRequest.post("ad/performance", payload)
