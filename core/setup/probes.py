"""The outside calls the setup checks make: is the Discord bot token good, whose application is
it, does Discord take the client secret, do Kick and Twitch take the app's id and secret. Each
call is one short request with a short timeout; an answer is reduced to a status and a few
fields, and no secret is ever part of what comes back (an error names only its kind)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core.platforms.http import tls_context
from core.platforms.lenient import parsed_json

TIMEOUT = httpx.Timeout(3.0, connect=2.0)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (timeout, refused connection, not JSON)
    body: dict[str, Any]
    problem: str = ""  # why there was no answer, without the request's secrets

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def refused(self) -> bool:
        """The service answered and said no to the credentials."""
        return self.status in (400, 401, 403)


def _call(method: str, url: str, **kwargs: Any) -> Answer:
    try:
        response = httpx.request(
            method, url, timeout=TIMEOUT, follow_redirects=False, verify=tls_context(), **kwargs
        )
    except httpx.TimeoutException:
        return Answer(None, {}, "no answer within a few seconds")
    except httpx.HTTPError as exc:
        return Answer(None, {}, f"could not connect ({type(exc).__name__})")
    try:
        body = parsed_json(response.content)
    except ValueError:
        body = None
    return Answer(response.status_code, body if isinstance(body, dict) else {})


def discord_bot_user(api_base_url: str, token: str) -> Answer:
    """``GET /users/@me`` as the bot: 200 with its user when the token is good, 401 when not."""
    return _call("GET", f"{api_base_url}/users/@me", headers={"Authorization": f"Bot {token}"})


def discord_application(api_base_url: str, token: str) -> Answer:
    """``GET /oauth2/applications/@me`` as the bot: the application the token belongs to."""
    return _call(
        "GET",
        f"{api_base_url}/oauth2/applications/@me",
        headers={"Authorization": f"Bot {token}"},
    )


def discord_client(api_base_url: str, client_id: str, client_secret: str) -> Answer:
    """A client-credentials grant with the dashboard login's id and secret (as HTTP Basic, the
    way the login's code exchange sends them): 200 when Discord takes them, 401 when the secret
    is wrong. The token it hands out is dropped."""
    answer = _call(
        "POST",
        f"{api_base_url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "identify"},
        auth=(client_id, client_secret),
    )
    return Answer(answer.status, {}, answer.problem)


def app_token(token_url: str, client_id: str, client_secret: str) -> Answer:
    """A client-credentials grant (Kick's and Twitch's app token): 200 when the platform takes
    the id and secret. The token it hands out is dropped."""
    form = {"grant_type": "client_credentials", "client_id": client_id}
    form["client_secret"] = client_secret
    answer = _call("POST", token_url, data=form)
    return Answer(answer.status, {}, answer.problem)
