"""The payments in doubt page: the guild's uncertain calls with who, how much, why and the
service's words; "Mark paid" and "Pay again" settle a call once with the dashboard user as
admin (a second click is refused, naming who settled it); another guild's call is neither shown
nor settled; another guild's page 403; no CSRF token 403."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from core.features.directory import repository as directory
from core.features.payments.tables import payments_settlements
from tests.features.payments.test_counts import _uncertain_payments
from tests.web.dashboard.conftest import ADMIN, GUILD, OTHER_GUILD, post

PAGE = f"/dashboard/{GUILD}/payments/"
NOW = datetime(2030, 6, 1, tzinfo=UTC)


def test_the_page_lists_the_guilds_payments_in_doubt_only(site):
    mine, _other = _uncertain_payments(site.runtime.engine, GUILD, OTHER_GUILD)
    page = site.client().get(PAGE)
    assert page.status_code == 200
    assert f'id="call-{mine}"' in page.text
    assert f'id="call-{_other}"' not in page.text
    for words in ("ann", "+5", "heist #0 payout", "answered 500", "Mark paid", "Pay again"):
        assert words in page.text
    assert site.client().get(f"/dashboard/{OTHER_GUILD}/payments/").status_code == 403


def test_mark_paid_settles_once_with_the_dashboard_user_as_admin(site):
    [call] = _uncertain_payments(site.runtime.engine, GUILD)
    with site.runtime.engine.begin() as conn:  # the bot has seen the admin
        directory.save_members(conn, GUILD, [directory.Member(ADMIN, "Bea <mod>")], NOW)
    client = site.client()
    settled = post(client, f"{PAGE}{call}/paid", reason="seen on SE")
    assert settled.status_code == 302
    after = client.get(PAGE)
    assert f"Call #{call} (ann +5) is marked paid" in after.text
    assert 'id="none-in-doubt"' in after.text
    second = post(client, f"{PAGE}{call}/again")
    assert second.status_code == 400
    assert "marked paid by Bea &lt;mod&gt; on the dashboard on " in second.text
    assert str(ADMIN) not in second.text
    with site.runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(payments_settlements)).all()
    assert [(r.outbox_id, r.action, r.actor_id, r.actor, r.reason) for r in rows] == [
        (call, "paid", ADMIN, "dashboard", "seen on SE")
    ]


def test_pay_again_queues_the_payment_once(site):
    [call] = _uncertain_payments(site.runtime.engine, GUILD)
    client = site.client()
    assert post(client, f"{PAGE}{call}/again").status_code == 302
    assert post(client, f"{PAGE}{call}/again").status_code == 400
    doubts = site.runtime.payment_doubts
    assert doubts.doubtful(GUILD) == []
    with site.runtime.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT effect_key, state FROM outbox ORDER BY id")).all()
    assert [state for _key, state in keys] == ["uncertain", "pending"]
    assert keys[1][0] == keys[0][0] + ":again"


def test_another_guilds_call_cannot_be_settled_from_this_guilds_page(site):
    [elsewhere] = _uncertain_payments(site.runtime.engine, OTHER_GUILD)
    refused = post(site.client(), f"{PAGE}{elsewhere}/again")
    assert refused.status_code == 400
    assert f"There is no call #{elsewhere} in this server." in refused.text
    assert len(site.runtime.payment_doubts.doubtful(OTHER_GUILD)) == 1


def test_a_settlement_without_the_csrf_token_is_refused(site):
    [call] = _uncertain_payments(site.runtime.engine, GUILD)
    refused = site.client().post(f"{PAGE}{call}/paid", data={"reason": "x"})
    assert refused.status_code == 403
    assert len(site.runtime.payment_doubts.doubtful(GUILD)) == 1
