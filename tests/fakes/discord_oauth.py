"""A loopback stand-in for Discord's OAuth2 and the user API the dashboard calls.

``/oauth2/authorize`` shows a consent page with an "Authorize" button for the user the test
chose (:meth:`FakeDiscordOAuth.sign_in_as`); pressing it redirects back with a single-use code.
``/api/v10/oauth2/token`` swaps the code (client id and secret by HTTP Basic, the same redirect
URI), or a client-credentials grant (the setup page's check of the secret), for a bearer token;
``/api/v10/users/@me`` and ``/users/@me/guilds`` answer for that token, guilds with their
``permissions`` bit field as a string, as Discord sends it. The same two ``@me`` routes answer
a bot token (``Authorization: Bot ...``, as the setup page asks): ``BOT_TOKEN`` is the bot of
application ``bot_application_id`` (``CLIENT_ID`` unless a test changes it), any other bot
token is refused 401; ``bot_calls`` counts them. The application's ``flags`` are
``bot_application_flags`` (by default the Server Members and Message Content intents switched
on, as an unverified bot has them: ``INTENTS_ON``). Beside tests/fakes/discord_api.py (the
bot's REST API, aiohttp), this one is a plain WSGI app in a thread, since the browser tests
drive it synchronously.
"""

from __future__ import annotations

import base64
import html
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "123456789012345678"
CLIENT_SECRET = "fake-discord-client-secret"
BOT_TOKEN = "fake.discord.bot-token.0123456789abcdefghijklmnopqrstuvwxyz"
BOT_NAME = "StreamKeeper Test Bot"
# Discord's application flags for the Server Members and Message Content intents switched on in
# the Developer Portal (the "_LIMITED" bits: a bot in fewer than 100 servers).
GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
INTENTS_ON = GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED
MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3


@dataclass
class FakeUser:
    id: int
    username: str
    guilds: list[dict] = field(default_factory=list)  # {"id", "name", "owner", "permissions"}

    def member_of(
        self,
        guild_id: int,
        name: str,
        permissions: int = 0,
        owner: bool = False,
        icon: str | None = None,
    ):
        self.guilds.append(
            {"id": str(guild_id), "name": name, "icon": icon, "owner": owner,
             "permissions": str(permissions)}
        )  # fmt: skip
        return self


class FakeDiscordOAuth:
    def __init__(self) -> None:
        self.users: dict[int, FakeUser] = {}
        self.signed_in: FakeUser | None = None
        self.codes: dict[str, tuple[int, str]] = {}  # code -> (user id, redirect uri)
        self.tokens: dict[str, int] = {}
        self.next_access_token: str | None = None  # the token the next code is traded for
        self.guild_calls = 0
        self.bot_application_id = CLIENT_ID
        self.bot_application_flags = INTENTS_ON
        self.bot_calls = 0
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long shutdown() waits for the loop to notice
            daemon=True,
        )

    # --- test side ------------------------------------------------------------------------------

    def add_user(self, user_id: int, username: str) -> FakeUser:
        user = FakeUser(user_id, username)
        self.users[user_id] = user
        return user

    def sign_in_as(self, user: FakeUser) -> None:
        self.signed_in = user

    @property
    def api_base_url(self) -> str:
        return f"{self.url}/api/v10"

    @property
    def oauth_base_url(self) -> str:
        return f"{self.url}/oauth2"

    def __enter__(self) -> FakeDiscordOAuth:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- Discord side ---------------------------------------------------------------------------

    def _wsgi(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        response = self._route(request)
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        if path == "/oauth2/authorize" and method == "GET":
            return self._consent(request)
        if path == "/oauth2/authorize" and method == "POST":
            return self._approve(request)
        if path == "/api/v10/oauth2/token" and method == "POST":
            return self._token(request)
        if request.headers.get("Authorization", "").startswith("Bot "):
            return self._as_bot(request)
        if path == "/api/v10/users/@me" and method == "GET":
            user = self._bearer(request)
            if user is None:
                return _json({"message": "401: Unauthorized", "code": 0}, 401)
            return _json({"id": str(user.id), "username": user.username, "global_name": None})
        if path == "/api/v10/users/@me/guilds" and method == "GET":
            user = self._bearer(request)
            if user is None:
                return _json({"message": "401: Unauthorized", "code": 0}, 401)
            self.guild_calls += 1
            return _json(user.guilds)
        return _json({"message": "404: Not Found", "code": 0}, 404)

    def _as_bot(self, request: Request) -> Response:
        with self._lock:
            self.bot_calls += 1
        if request.headers["Authorization"].removeprefix("Bot ") != BOT_TOKEN:
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        bot = {"id": self.bot_application_id, "username": BOT_NAME, "bot": True}
        if request.path == "/api/v10/users/@me" and request.method == "GET":
            return _json(bot)
        if request.path == "/api/v10/oauth2/applications/@me" and request.method == "GET":
            app = {"id": self.bot_application_id, "name": "StreamKeeper", "bot": bot}
            return _json({**app, "flags": self.bot_application_flags})
        return _json({"message": "404: Not Found", "code": 0}, 404)

    def _consent(self, request: Request) -> Response:
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
            return Response("Invalid OAuth2 request", 400)
        who = self.signed_in.username if self.signed_in else "nobody"
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(args.get(name, ""))}">'
            for name in ("redirect_uri", "state", "scope")
        )
        page = (
            "<!doctype html><title>Discord</title><h1>An external application wants to access "
            f"your Discord account ({html.escape(who)})</h1>"
            f"<p>Scopes: {html.escape(args.get('scope', ''))}</p>"
            f'<form method="post">{hidden}<button id="approve" type="submit">Authorize</button>'
            '<button id="deny" name="deny" value="1" type="submit">Cancel</button></form>'
        )
        return Response(page, mimetype="text/html")

    def _approve(self, request: Request) -> Response:
        form = request.form
        redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
        if form.get("deny"):
            query = urlencode({"error": "access_denied", "state": state})
        else:
            assert self.signed_in is not None, "the test signs a user in first"
            code = secrets.token_urlsafe(16)
            with self._lock:
                self.codes[code] = (self.signed_in.id, redirect_uri)
            query = urlencode({"code": code, "state": state})
        return Response(status=302, headers={"Location": f"{redirect_uri}?{query}"})

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return _json({"error": "invalid_client"}, 401)
        form = request.form
        if form.get("grant_type") == "client_credentials":  # the setup page's secret check
            return _json({"access_token": secrets.token_urlsafe(24), "token_type": "Bearer"})
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)  # single use
        if grant is None or grant[1] != form.get("redirect_uri"):
            return _json({"error": "invalid_grant"}, 400)
        token, self.next_access_token = self.next_access_token or secrets.token_urlsafe(24), None
        self.tokens[token] = grant[0]
        return _json(
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 604800,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": "identify guilds",
            }
        )

    def _bearer(self, request: Request) -> FakeUser | None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        user_id = self.tokens.get(token)
        return None if user_id is None else self.users.get(user_id)


def _json(payload: object, status: int = 200) -> Response:
    import json

    return Response(json.dumps(payload), status=status, mimetype="application/json")
