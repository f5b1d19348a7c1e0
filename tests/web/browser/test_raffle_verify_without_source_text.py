"""The proof page's verifier in a browser whose JSON.parse gives a reviver no source text (before
Chrome 114, Firefox 135, Safari 18.4): it still reads whole numbers exactly (static/exact-json.js),
so an honest proof with Discord-sized ids and amounts still matches, in the same words."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page

from core.features.raffle.draws.verification import verify
from tests.fakes.discord_oauth import FakeDiscordOAuth
from tests.features.raffle import drand_scenario
from tests.web.browser.conftest import _new_page, open_proof_page, served_site

# Before the page's scripts: JSON.parse as an older browser has it (a reviver gets no third
# argument); the browser's own is kept as window.nativeJsonParse for the comparisons below.
WITHOUT_SOURCE_TEXT = """
(() => {
  const native = JSON.parse;
  window.nativeJsonParse = native;
  JSON.parse = function (text, reviver) {
    if (typeof reviver !== "function") return native(text);
    return native(text, function (key, value) { return reviver.call(this, key, value); });
  };
})();
"""


@pytest.fixture(scope="module")
def old_browser_verifier(browser, tmp_path_factory) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """The fixture's proof page, loaded once, in a browser without JSON.parse source text."""
    with (
        FakeDiscordOAuth() as discord,
        served_site(tmp_path_factory.mktemp("old-verifier") / "data", discord, {}) as served,
    ):
        page = _new_page(browser)
        page.add_init_script(WITHOUT_SOURCE_TEXT)
        open_proof_page(page, served.url)
        yield page
        page.context.close()


def _big_numbers_proof(version: int) -> tuple[dict, dict]:
    """An honest proof whose ledger holds whole numbers past 2**53: 18-digit Discord ids of
    admins (version 1) and ticket amounts."""
    actor = 987654321987654321 if version == 1 else "admin-0123456789abcdef"
    entries = [
        drand_scenario.entry(1, "123456789012345678", 2**60 + 1, actor, "r"),
        drand_scenario.entry(2, "2", 2**53 + 1),
        drand_scenario.entry(3, "3", 5, actor),
    ]
    keys = ["kick:123456789012345678", "kick:2", "kick:3"]
    return drand_scenario.composed_proof(entries, keys, [(1, False), (1, True)], version=version)


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_honest_proof_with_big_numbers_matches_without_source_text(
    old_browser_verifier: Page, version: int
):
    proof, ledger = _big_numbers_proof(version)
    expected = verify(proof, ledger)
    assert expected.matches, expected.problems
    assert old_browser_verifier.evaluate("JSON.parse('1', (k, v, c) => c) === undefined")
    outcome = old_browser_verifier.evaluate(
        "([p, l]) => window.streamkeeperVerify(p, l).then(r => r, e => ({error: String(e)}))",
        [json.dumps(proof, ensure_ascii=False), json.dumps(ledger, ensure_ascii=False)],
    )
    assert (outcome.get("problems"), outcome.get("notes")) == ([], list(expected.notes)), outcome


# Both readers' results, written out so that BigInt, -0 and key order show: or "refused".
BOTH_READERS = """
(texts) => {
  const show = (v) => {
    if (typeof v === "bigint") return v.toString() + "n";
    if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
    if (typeof v === "string") return JSON.stringify(v);
    if (v === null || typeof v === "boolean") return String(v);
    if (Array.isArray(v)) return "[" + v.map(show).join(",") + "]";
    return "{" + Object.keys(v).map((k) => JSON.stringify(k) + ":" + show(v[k])).join(",") + "}";
  };
  const withSource = (text) => window.nativeJsonParse(text, (key, value, context) =>
    typeof value === "number" && /^-?\\d+$/.test(context.source) ? BigInt(context.source) : value);
  const read = (parse, text) => {
    try { return show(parse(text)); } catch (error) {
      return error instanceof Error ? "refused" : "threw " + String(error);
    }
  };
  return texts.map((t) => [read(withSource, t), read(window.streamkeeperExactJson.parse, t)]);
}
"""

_ACCEPTED = [
    "0",
    "-0",
    "9007199254740993",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1.5",
    "-0.0",
    "1e3",
    "1E+2",
    "-2.5e-3",
    "1e400",
    "9007199254740993.0",
    "true",
    "false",
    "null",
    '""',
    '"plain"',
    r'"\" \\ \/ \b \f \n \r \t"',
    r'"\u00e9\u20AC \ud83d\ude00 \ud800 lone"',
    '"h\u00e9 \U0001f600"',
    "[]",
    "{}",
    ' \t\r\n [ 1 , [ 2 , { "a" : [ 3 ] } ] , { } ] \n',
    '{"b": 1, "a": 2, "2": 3, "1": 4}',
    '{"a": 1, "a": 18446744073709551617}',
    '{"__proto__": {"x": 1}, "constructor": 2}',
    '{"guild_id": 987654321987654321, "ids": [1, -2, 3.0, 4e0]}',
    "[" * 200 + "]" * 200,
]

_REFUSED = [
    "",
    " ",
    "01",
    "-",
    "+1",
    "1.",
    ".5",
    "1e",
    "0x10",
    "NaN",
    "Infinity",
    "tru",
    "nul",
    "True",
    "'a'",
    '"unterminated',
    '"tab\there"',
    '"\\x41"',
    '"\\u12"',
    '"\\u12G4"',
    "[1,]",
    "[1 2]",
    "[,1]",
    "{,}",
    '{"a":1,}',
    '{"a" 1}',
    "{a:1}",
    "{1:1}",
    "[1]]",
    "[1",
    '{"a":1',
    "1 2",
    "\u00a01",
    "[1]\u2028",
    "/* no */ 1",
]


def test_the_reader_agrees_with_json_parse_source_text(old_browser_verifier: Page):
    """static/exact-json.js reads what JSON.parse with source text reads, and refuses what it
    refuses, on awkward texts and on mixtures of them."""
    mixtures = ["[" + ",".join(_ACCEPTED[i::7]) + "]" for i in range(7)]
    mixtures.append("{" + ",".join(f'"k{n}": {t}' for n, t in enumerate(_ACCEPTED)) + "}")
    refused = _REFUSED + [text + "]" for text in _ACCEPTED[:10]]
    texts = _ACCEPTED + mixtures + refused
    results = old_browser_verifier.evaluate(BOTH_READERS, texts)
    for text, (native, ours) in zip(texts, results, strict=True):
        assert ours == native, text
        assert (native == "refused") == (text in refused), (text, native)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    value=_JSON_VALUES,
    ascii_only=st.booleans(),
    indent=st.none() | st.integers(0, 2),
    cut=st.integers(min_value=0),
)
def test_the_reader_agrees_on_generated_json(
    old_browser_verifier: Page, value, ascii_only, indent, cut
):
    """The same on generated documents (as Python writes them), and on each with one character
    left out (malformed, mostly)."""
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    at = cut % len(text)
    texts = [text, text[:at] + text[at + 1 :]]
    (native, ours), (native_cut, ours_cut) = old_browser_verifier.evaluate(BOTH_READERS, texts)
    assert native != "refused"
    assert (ours, ours_cut) == (native, native_cut), texts
