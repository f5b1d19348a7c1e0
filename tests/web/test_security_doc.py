"""docs/security.md says, for each source StreamKeeper takes input from, what is trusted and
where it is checked: every webhook the app answers has its row in the page's trust table and
its own section naming the route."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def _trust_table(text: str) -> str:
    start = text.index("## Trust in one table")
    return text[start : text.index("\n## ", start + 1)]


def test_every_webhook_the_app_answers_is_in_the_security_page(make_runtime) -> None:
    app = make_runtime().create_web_app()
    routes = sorted(app.wsgi_app.receivers)  # core/web/webhooks.py answers these before Flask
    text = DOC.read_text()
    table = _trust_table(text)

    assert routes == ["/webhooks/kick", "/webhooks/twitch"]
    for path in routes:
        platform = path.rsplit("/", 1)[-1].title()
        assert f"| {platform} webhook |" in table, f"{path} has no row in the trust table"
        assert f"`POST {path}`" in text, f"{path} has no section saying how it is checked"
