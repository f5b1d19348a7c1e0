"""The VIP page's rules (list, add, change the hours or a Twitch reward's cost and title,
remove: what ``!vip rule`` and ``python -m core vip rule`` do) and its analytics (7, 30 or 90
days, server-drawn SVG charts with the numbers beside them). ``vip.py`` renders the page with
:func:`context` and adds these routes to its blueprint with :func:`add_routes`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, request
from markupsafe import Markup

from core.events import Platform
from core.features.refusals import Refused
from core.features.vip.analytics import WINDOWS
from core.features.vip.rules import RuleAsked
from core.features.vip.rules_repository import KINDS
from core.features.vip.service import VipService
from core.web.dashboard.charts_svg import bar_chart, line_chart

PLATFORMS = {"twitch": Platform.TWITCH, "kick": Platform.KICK}
KIND_WORDS = {
    "reward": "a channel-point reward",
    "sub": "a subscription of at least a tier",
    "gift": "a gift of at least N subs",
    "bits": "a cheer of at least N bits (Twitch)",
    "kicks": "at least N KICKs (Kick)",
}


def context(service: VipService, run: Callable[[Any], Any], guild_id: int) -> dict[str, Any]:
    """The rules and the analytics of the window the query string asks for (30 days else)."""
    asked = request.args.get("days", "")
    days = int(asked) if asked in {str(d) for d in WINDOWS} else 30
    numbers = run(service.analytics(guild_id, days))
    charts: dict[str, Markup] = {
        "active": line_chart(
            "chart-active",
            f"VIPs held at the end of each day (UTC), last {days} days",
            [(day.isoformat(), held) for day, held in numbers.active],
        ),
        "by_rule": bar_chart("chart-rule", "Grants by rule", numbers.by_rule),
        "by_platform": bar_chart(
            "chart-platform", "Grants by platform", [(p.title(), n) for p, n in numbers.by_platform]
        ),
        "hours": bar_chart("chart-hours", "VIP hours granted by rule", numbers.hours_by_rule),
        "refunds": bar_chart("chart-refunds", "Refunds by why", numbers.refunds),
        "top": bar_chart(
            "chart-top",
            "Viewers with the most VIP hours",
            [(f"{name} ({p.title()})", h) for p, name, h in numbers.top_viewers],
        ),
    }
    return {
        "rules": run(service.rules.list(guild_id)),
        "rule_kinds": [(kind, KIND_WORDS[kind]) for kind in KINDS],
        "analytics": numbers,
        "windows": WINDOWS,
        "charts": charts,
        "platform_rows": [(p.title(), n) for p, n in numbers.by_platform],
        "active_rows": [(day.isoformat(), held) for day, held in numbers.active],
        "top_rows": [(f"{name} ({p.title()})", h) for p, name, h in numbers.top_viewers],
    }


def add_routes(
    bp: Blueprint,
    service: Callable[[], VipService],
    run: Callable[[Any], Any],
    write: Callable[[int, str, Callable[[], str]], Any],
    whole: Callable[[str | None, str], int],
) -> None:
    """POST ``/rules`` (add), ``/rules/<id>/change``, ``/rules/<id>/remove``,
    ``/rules/<id>/make-reward`` (a reward deleted on twitch.tv made again)."""

    def optional(name: str, what: str) -> int | None:
        value = (request.form.get(name) or "").strip()
        return whole(value, what) if value else None

    @bp.post("/rules")
    def add_rule(guild_id: int):  # type: ignore[no-untyped-def]
        def call() -> str:
            form = request.form
            platform = PLATFORMS.get(form.get("platform", ""))
            if platform is None:
                raise Refused("Pick Twitch or Kick.")
            asked = RuleAsked(
                platform=platform,
                when=form.get("when", ""),
                hours=whole(form.get("hours"), "Hours"),
                reward_id=(form.get("reward_id") or "").strip() or None,
                title=(form.get("title") or "").strip() or None,
                cost=optional("cost", "The cost"),
                tier=optional("tier", "The tier"),
                at_least=optional("at_least", "The least amount"),
            )
            rule = run(service().rules.add(guild_id, asked))
            return f"Rule {rule.id} added: {rule.describe()} gives {rule.hours} hour(s) of VIP."

        return write(guild_id, "rule-add", call)

    @bp.post("/rules/<id:rule_id>/change")
    def change_rule(guild_id: int, rule_id: int):  # type: ignore[no-untyped-def]
        def call() -> str:
            title = (request.form.get("title") or "").strip() or None
            rule = run(
                service().rules.change(
                    guild_id,
                    rule_id,
                    hours=optional("hours", "Hours"),
                    cost=optional("cost", "The cost"),
                    title=title,
                )
            )
            return f"Rule {rule.id} now: {rule.describe()} gives {rule.hours} hour(s) of VIP."

        return write(guild_id, f"rule-{rule_id}", call)

    @bp.post("/rules/<id:rule_id>/remove")
    def remove_rule(guild_id: int, rule_id: int):  # type: ignore[no-untyped-def]
        def call() -> str:
            rule = run(service().rules.remove(guild_id, rule_id))
            is_on_twitch = rule.is_twitch_reward and rule.reward_gone_at is None
            reward = "; its reward will be deleted on Twitch" if is_on_twitch else ""
            return (
                f"Rule {rule.id} removed ({rule.describe()}){reward}; "
                "the VIPs it granted still expire."
            )

        return write(guild_id, "rules", call)

    @bp.post("/rules/<id:rule_id>/make-reward")
    def make_reward_again(guild_id: int, rule_id: int):  # type: ignore[no-untyped-def]
        def call() -> str:
            rule = run(service().rules.make_reward_again(guild_id, rule_id))
            return (
                f"Rule {rule.id}'s reward was made again on Twitch: {rule.describe()} gives "
                f"{rule.hours} hour(s) of VIP."
            )

        return write(guild_id, f"rule-{rule_id}", call)
