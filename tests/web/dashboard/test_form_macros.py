"""One macro file for every page's forms (templates/dashboard/_forms.html): every settings page
renders with it, and a field's own attributes arrive as attributes (they were once escaped into
``inputmode=&#34;numeric&#34;``, which a phone ignores)."""

from __future__ import annotations

from pathlib import Path

import pytest

import core.web.dashboard
from tests.web.dashboard.conftest import GUILD, post

TEMPLATES = Path(core.web.dashboard.__file__).parent / "templates" / "dashboard"
PAGES = ("", "connections/", "watchtime/", "linking/", "roles/", "raffle/", "vip/",
         "slot-calls/", "heist/", "events/")  # fmt: skip


def test_one_macro_file_serves_every_template() -> None:
    macro_files = sorted(p.name for p in TEMPLATES.glob("_*.html"))
    assert macro_files == ["_forms.html"]
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert "_fields.html" not in text, template.name
        assert "_settings.html" not in text, template.name


@pytest.mark.parametrize("tail", PAGES)
def test_every_page_renders_its_attributes_unescaped(site, tail: str) -> None:
    page = site.client().get(f"/dashboard/{GUILD}/{tail}")
    assert page.status_code == 200
    assert "=&#34;" not in page.text


def test_a_refused_field_keeps_its_attributes_and_points_at_its_message(site) -> None:
    answer = post(site.client(), f"/dashboard/{GUILD}/heist/points/give", viewer="x", amount="0")
    assert answer.status_code == 400
    assert (
        '<input id="f-amount" name="amount" type="text" value="0" inputmode="numeric" '
        'aria-invalid="true" aria-describedby="e-amount">'
    ) in answer.text
    assert '<p class="error" id="e-amount" role="alert">' in answer.text
