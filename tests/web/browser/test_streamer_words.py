"""Streamer words everywhere (issue 46): no page, flash message or refusal shows a word of the
code: a snake_case name (``watch_hour``, ``low_chance``, ``view_channel``,
``subscriptions_gifted``), a platform's dotted event type (``channel.subscription.gifts``) or a
points rate as typed in chat (``chatcap``). What a page quotes as a command or a setting of the
server's environment (inside ``<code>``) is what the streamer types, and is not scanned.

Every page of test_every_page's seeded guild is scanned in that module's sweep at 1366 px
(:func:`code_words`); here, the messages the settings forms answer: a save and a refusal of the
raffle's settings, the heist's and the points rates."""

from __future__ import annotations

import re

import sqlalchemy as sa

from core.storage.tables import metadata
from tests.web.browser.test_every_page import GUILD, signed_in, site_settings

__all__ = ["signed_in", "site_settings"]

CODE_WORDS = re.compile(
    r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"  # snake_case
    r"|\b[a-z]+(?:\.[a-z_]+){2,}\b"  # channel.subscription.gifts
    r"|\b(?:chatcap)\b"
)
# The text a reader sees, without what the page quotes as code (commands, environment names).
SHOWN_TEXT = """() => {
    const copy = document.body.cloneNode(true);
    copy.querySelectorAll('code, pre, script, style, [hidden]').forEach(e => e.remove());
    return copy.innerText;
}"""


# The setup page is the operator's: it names environment settings and shell commands on purpose.
OPERATORS_PAGES = ("/setup",)


def stored_names(engine) -> set[str]:  # type: ignore[no-untyped-def]
    """Every name stored (viewers' usernames, servers', members'...): a viewer may well be
    called ana_kick, which is their name, not a word of the code."""
    found: set[str] = set()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if column.name.endswith("name") and isinstance(column.type, sa.String):
                    rows = conn.execute(sa.select(column).distinct()).scalars()
                    # A file's name too without its extension (a page may show "song_1.wav").
                    named = {str(v).lower() for v in rows if v and "_" in str(v)}
                    found |= named | {name.rsplit(".", 1)[0] for name in named}
    return found


def code_words(page, names: set[str]) -> list[str]:  # type: ignore[no-untyped-def]
    words = set(CODE_WORDS.findall(page.evaluate(SHOWN_TEXT)))
    return sorted(w for w in words if not any(name in w.lower() for name in names))


def test_no_flash_message_or_refusal_shows_a_word_of_the_code(signed_in, site):  # type: ignore[no-untyped-def]
    page = signed_in
    base = f"{site.url}/dashboard/{GUILD}"
    said = []

    page.goto(f"{base}/raffle/")
    page.locator("input[name=watch_hour]").fill("7")
    page.click("#save-settings")
    said.append(page.locator("p.done").inner_text())
    page.locator("input[name=watch_hour]").evaluate("e => { e.type = 'text'; e.value = 'lots'; }")
    page.click("#save-settings")
    said.append(page.locator(".field-error").last.inner_text())

    page.goto(f"{base}/heist/")
    for rate, value in (("window", "0"), ("chatcap", "x"), ("watch", "3")):
        page.locator(f"#f-rate-{rate}").fill(value)
        page.locator(f"#f-rate-{rate}").press("Enter")
        shown = page.locator(f"#e-rate-{rate}, p.notice").first.inner_text()
        said.append(shown)
    low = page.locator("input[name=low_chance]")
    low.fill("150")
    low.press("Enter")
    said.append(page.locator("[role=alert]").last.inner_text())

    found = [text for text in said if CODE_WORDS.search(text)]
    assert not found, found
    assert any(text.startswith("Saved: Tickets per hour watched") for text in said), said
    assert any("Posting interval" in text for text in said), said
    assert any("Low risk" in text for text in said), said
