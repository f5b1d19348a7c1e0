"""Alert words, variations and uploads, as pure functions: the named fields and nothing else,
the variation with the highest threshold at or below the amount, files told by their bytes."""

from __future__ import annotations

import re

import pytest

from core.features.overlays.alert_kinds import (
    AlertFields,
    Variation,
    chosen_variation,
    default_style,
    look,
    parse_template,
    render,
)
from core.features.overlays.media import check_upload, clean_name, sniff
from core.features.overlays.settings import OverlayRefused
from tests.web.dashboard.test_alerts_page import png, wav


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("{name} followed", "{name} is not something an alert can show"),
        ("{who.__class__}", "is not something an alert can show"),
        ("{who!r}", "is not something an alert can show"),
        ("{amount:>99999}", "is not something an alert can show"),
        ("{0}", "{0} is not something"),
        ("{}", "{(empty)} is not something"),
        ("{who", "A brace is missing its pair"),
        ("who}", "A brace is missing its pair"),
        ("   ", "Write the words the alert shows"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_a_template_names_only_the_known_fields(typed, words):
    with pytest.raises(OverlayRefused, match=re.escape(words)):
        parse_template(typed)


def test_a_good_template_is_kept_with_its_spaces_tidied():
    assert parse_template("  {who}   gifted {amount} ({tier}) {{wow}} ") == (
        "{who} gifted {amount} ({tier}) {{wow}}"
    )


def test_render_fills_the_fields_and_drops_empty_brackets():
    fields = AlertFields("ann", 1500, "", "gg")
    assert render("{who} cheered {amount} ({tier}): {message} {{x}}", fields) == (
        "ann cheered 1,500: gg {x}"
    )
    assert render("{who} joined", AlertFields("")) == "Someone joined"


def test_what_a_viewer_chose_cannot_turn_reorder_or_stretch_the_alert():
    """A name or message with a direction override (which would show the streamer's words
    backwards), zero-width or control characters, line breaks, or no end, is shown cleaned,
    on one line, bounded, with the template's words still there."""
    sneaky = AlertFields("\u202eann\u200b\u2066", 5, "", "hi\u202e\n\nthere\x00\u200d!")
    said = render("{who} cheered {amount}: {message}", sneaky)
    assert said == "ann cheered 5: hi there!"
    huge = render("{who} just followed!", AlertFields("x" * 100_000))
    assert huge.endswith(" just followed!")
    assert len(huge) <= 200
    assert len(render("{who}: {message}", AlertFields("ann", message="y" * 100_000))) == 200
    assert render("{who} says {message}", AlertFields("f()", message="(:")) == "f() says (:"


VARIATIONS = [Variation(10, "ten"), Variation(100, "hundred"), Variation(5, "five")]


@pytest.mark.parametrize(
    ("amount", "chosen"),
    [
        (None, None),
        (1, None),
        (4, None),
        (5, 5),
        (9, 5),
        (10, 10),
        (99, 10),
        (100, 100),
        (10**9, 100),
    ],
)
def test_the_highest_threshold_at_or_below_the_amount_wins(amount, chosen):
    found = chosen_variation(VARIATIONS, amount)
    assert (found.threshold if found else None) == chosen


def test_a_variation_keeps_what_it_leaves_blank():
    style = default_style("cheer")
    style = type(style)("cheer", True, "{who} cheered {amount}", 6, "pic", "snd")
    shown = look(style, [Variation(100, "", "big")], AlertFields("ann", 150))
    assert (shown.title, shown.image_id, shown.sound_id) == ("ann cheered 150", "big", "snd")


def test_one_gifted_sub_reads_as_one():
    style = default_style("gifted_subs")
    assert look(style, [], AlertFields("ann", 1)).title == "ann gifted 1 sub"
    assert look(style, [], AlertFields("ann", 2)).title == "ann gifted 2 subs"


def test_kicks_are_spelled_as_kick_spells_them():
    """Kick's currency is KICKs: the default words of its alert say so, one as one KICK."""
    style = default_style("tip")
    assert look(style, [], AlertFields("ann", 500)).title == "ann sent 500 KICKs!"
    assert look(style, [], AlertFields("ann", 1)).title == "ann sent 1 KICK!"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (png(), ("image", "image/png")),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ("image", "image/jpeg")),
        (b"GIF89a\x01\x00", ("image", "image/gif")),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ("image", "image/webp")),
        (wav(), ("sound", "audio/wav")),
        (b"OggS\x00\x02", ("sound", "audio/ogg")),
        (b"ID3\x04\x00", ("sound", "audio/mpeg")),
        (b"\xff\xfb\x90\x64", ("sound", "audio/mpeg")),
    ],
)
def test_files_are_told_by_their_bytes(data, kind):
    found = sniff(data)
    assert found is not None
    assert (found.what, found.content_type) == kind


@pytest.mark.parametrize(
    "data",
    [b"<svg onload=alert(1)>", b"<html>", b"%PDF-1.7", b"RIFF\x00\x00\x00\x00AVI ", b"\xff\xe1"],
)
def test_other_files_are_refused(data):
    assert sniff(data) is None
    with pytest.raises(OverlayRefused, match="not a picture"):
        check_upload(data, 1_000)


def test_the_size_cap_and_an_empty_file_are_refused():
    with pytest.raises(OverlayRefused, match="Choose a file"):
        check_upload(b"", 1_000)
    with pytest.raises(OverlayRefused, match=r"is 2 kB; the largest this server takes is 1 kB"):
        check_upload(png() + b"\x00" * 1_000, 1_000)
    assert check_upload(png(), 1_000).what == "image"


def test_a_file_name_keeps_only_its_last_part():
    assert clean_name("C:\\Users\\me\\horn.mp3") == "horn.mp3"
    assert clean_name("../../etc/passwd") == "passwd"
    assert clean_name("\x00\x07") == "upload"


def test_zalgo_from_a_viewer_keeps_a_few_marks_per_letter_not_a_tower():
    """A name or message stacked with combining marks (zalgo) would draw a tower of marks over
    the alert's other words and the stream: each letter keeps at most two; accented letters
    and scripts that write with marks read as typed."""
    zalgo = "Z" + "\u0300\u0301\u0302\u0303\u0304" * 12 + "oe"
    said = render("{who} cheered {amount}: {message}", AlertFields(zalgo, 5, message=zalgo))
    assert said == "Z\u0300\u0301oe cheered 5: Z\u0300\u0301oe"
    assert render("{who}!", AlertFields("Ti\u1ebfng Vi\u1ec7t")) == "Ti\u1ebfng Vi\u1ec7t!"
    assert render("{who}!", AlertFields("\u0915\u094d\u0937\u093f")) == "\u0915\u094d\u0937\u093f!"


def test_words_past_the_limit_end_on_a_whole_word_and_say_so():
    """A cheer's long message was cut mid-word ("... Won"), reading as a typo on stream."""
    message = " ".join(["Wonderful"] * 40)
    said = render("{who} cheered {amount}: {message}", AlertFields("ann", 100, message=message))

    assert len(said) <= 200
    assert said.endswith("Wonderful …")
    assert said.startswith("ann cheered 100: Wonderful Wonderful")


def test_one_word_past_the_limit_is_cut_with_an_ellipsis():
    said = render("{who}: {message}", AlertFields("ann", message="y" * 1000))

    assert said == "ann: " + "y" * 194 + "…"
