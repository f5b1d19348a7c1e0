from datetime import UTC, datetime, timedelta

import pytest

from core.security.links import (
    LinkClaims,
    LinkInvalid,
    new_claims,
    sign_link_params,
    signed_link,
    verify_link_params,
)

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cret-key"


def test_a_fresh_link_verifies_with_its_claims():
    claims = new_claims("kick-streamer", 42, 7, NOW)
    params = sign_link_params(SECRET, claims)
    verified = verify_link_params(SECRET, "kick-streamer", params, NOW + timedelta(minutes=59))
    assert (verified.discord_user_id, verified.guild_id) == (42, 7)
    assert verified.expires_at == NOW + timedelta(hours=1)


def test_a_link_expires_after_one_hour():
    params = sign_link_params(SECRET, new_claims("kick-streamer", 42, 7, NOW))
    with pytest.raises(LinkInvalid) as raised:
        verify_link_params(SECRET, "kick-streamer", params, NOW + timedelta(hours=1))
    assert raised.value.reason == "expired"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user", "43"),
        ("guild", "8"),
        ("expires", "9999999999"),
        ("id", "another-link-id"),
        ("sig", "0" * 64),
    ],
)
def test_changing_any_part_breaks_the_signature(field, value):
    params = sign_link_params(SECRET, new_claims("kick-streamer", 42, 7, NOW))
    params[field] = value
    with pytest.raises(LinkInvalid) as raised:
        verify_link_params(SECRET, "kick-streamer", params, NOW)
    assert raised.value.reason == "tampered"


def test_a_link_for_one_purpose_does_not_open_another():
    params = sign_link_params(SECRET, new_claims("kick-viewer", 42, 7, NOW))
    with pytest.raises(LinkInvalid):
        verify_link_params(SECRET, "kick-streamer", params, NOW)


def test_another_secret_does_not_verify():
    params = sign_link_params(SECRET, new_claims("kick-streamer", 42, 7, NOW))
    with pytest.raises(LinkInvalid):
        verify_link_params("other", "kick-streamer", params, NOW)


@pytest.mark.parametrize("params", [{}, {"user": "x", "guild": "1", "expires": "1", "sig": "a"}])
def test_malformed_links_are_refused(params):
    with pytest.raises(LinkInvalid) as raised:
        verify_link_params(SECRET, "kick-streamer", params, NOW)
    assert raised.value.reason == "malformed"


def test_signed_link_is_a_readable_url():
    url = signed_link("https://bot.example", "/auth/kick/streamer", SECRET,
                      LinkClaims("kick-streamer", 42, 7, NOW, "link-id-0001"))  # fmt: skip
    assert url.startswith("https://bot.example/auth/kick/streamer?guild=7&user=42&expires=")


@pytest.mark.parametrize(
    ("field", "value"), [("id", None), ("id", "bad id!"), ("expires", "9" * 30)]
)
def test_a_link_without_a_usable_id_or_expiry_is_malformed(field, value):
    params = sign_link_params(SECRET, new_claims("kick-viewer", 42, 7, NOW))
    if value is None:
        del params[field]
    else:
        params[field] = value
    with pytest.raises(LinkInvalid) as raised:
        verify_link_params(SECRET, "kick-viewer", params, NOW)
    assert raised.value.reason == "malformed"


def test_every_link_has_its_own_id():
    first, second = (new_claims("kick-viewer", 42, 7, NOW) for _ in range(2))
    assert first.link_id != second.link_id
    assert sign_link_params(SECRET, first)["sig"] != sign_link_params(SECRET, second)["sig"]
