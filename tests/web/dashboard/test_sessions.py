"""Logout (or a new login in the same browser) ends the session on the server: a copy of the
cookie taken before (another browser, a stolen cookie) stops working at once, in every web
process, not only when it expires."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core.features.web_sessions.tables import web_sessions
from tests.web.dashboard.conftest import ADMIN, GUILD, post

COOKIE = "sk_session"


def copy_of(app, client):  # type: ignore[no-untyped-def]
    """Another browser holding the same cookie value."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def test_a_copied_cookie_stops_working_after_logout(site):
    client = site.client()
    copied = copy_of(site.app, client)
    assert copied.get(f"/dashboard/{GUILD}/").status_code == 200  # the copy works while signed in

    assert post(client, "/logout").status_code == 302

    for browser in (copied, client):
        answer = browser.get(f"/dashboard/{GUILD}/")
        assert answer.status_code == 302
        assert answer.headers["Location"].endswith("/?login=needed")
    assert copied.get("/me/").status_code in (302, 401)


def test_logout_in_one_web_process_ends_the_session_in_another(site):
    from core.web.app import create_app

    client = site.client()
    other_process = create_app(site.runtime.web_services())  # e.g. a second gunicorn worker
    copied = copy_of(other_process, client)
    assert copied.get(f"/dashboard/{GUILD}/").status_code == 200
    post(client, "/logout")
    assert copied.get(f"/dashboard/{GUILD}/").status_code == 302


def test_the_database_keeps_only_a_hash_of_the_session_id(site):
    client = site.client()
    with client.session_transaction() as session:
        session_id = session["sid"]
    with site.runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(web_sessions)).all()
    assert [row.user_id for row in rows] == [ADMIN]
    assert session_id not in rows[0].id_hash


def test_a_session_unknown_to_the_server_is_not_signed_in(site):
    client = site.client()
    with client.session_transaction() as session:
        session["sid"] = "x" * 43  # a forged or forgotten id, in a validly signed cookie
    assert client.get(f"/dashboard/{GUILD}/").status_code == 302


def test_a_session_past_its_lifetime_on_the_server_is_not_signed_in(site):
    sessions = site.dashboard.sessions
    short = sessions.start(ADMIN, timedelta(seconds=-1))
    assert not sessions.is_live(short, ADMIN)
    assert sessions.is_live(sessions.start(ADMIN, timedelta(hours=1)), ADMIN)
    assert not sessions.is_live(sessions.start(ADMIN, timedelta(hours=1)), ADMIN + 1)


def test_logging_in_again_ends_the_session_this_browser_had(site):
    """A second login in the same browser starts a new session and ends the one before, so a
    copy of the earlier cookie stops working too (it would otherwise last its 8 hours)."""
    from tests.web.dashboard.test_security import _consent

    client = site.client()
    copied = copy_of(site.app, client)
    assert copied.get(f"/dashboard/{GUILD}/").status_code == 200
    site.discord.sign_in_as(site.discord.users[ADMIN])  # the same person, at Discord

    done = client.get("/dashboard/callback", query_string=_consent(client, site.discord))

    assert done.status_code == 302
    assert client.get(f"/dashboard/{GUILD}/").status_code == 200  # signed in anew
    assert copied.get(f"/dashboard/{GUILD}/").status_code == 302
