"""Fuzz: whatever an admin types after ``!vip set <setting>`` is a setting or a refusal."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from core.discord_bot.vip.cog import parse_setting
from core.features.vip.service import VipRefused

SETTINGS = ("stacking", "cap", "max", "chat", "autoremove", "channel")


@given(
    st.sampled_from(SETTINGS),
    st.one_of(st.text(max_size=60), st.from_regex(r"<#[0-9]{1,30}>|[0-9]{1,30}", fullmatch=True)),
)
@example("channel", "<#99999999999999999999>")  # past BIGINT
@example("max", "١٢")  # Arabic-Indic digits
def test_any_value_is_a_setting_or_a_refusal(setting: str, value: str) -> None:
    try:
        parsed = parse_setting(setting, value)
    except VipRefused as refused:
        message = str(refused)
        parsed = None
    if parsed is None:
        assert setting in message
        return
    [(name, result)] = parsed.items()
    assert result is None or isinstance(result, bool | int)
    if isinstance(result, int) and not isinstance(result, bool):
        assert 0 <= result < 2**63  # fits the database's BIGINT
        assert name in ("max_hours", "max_concurrent", "notice_channel_id")
