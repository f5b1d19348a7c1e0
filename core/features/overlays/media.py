"""Pictures and sounds a streamer uploads for alerts: what a file is, told by its first bytes.

The name and the type the browser claims are not trusted: a file is a PNG, JPEG, GIF or WebP
picture, or an MP3, Ogg or WAV sound, when its bytes begin as one does, and nothing else is
kept. The size cap is the operator's setting (``OVERLAY_MEDIA_MAX_BYTES``).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.features.overlays.settings import OverlayRefused

DEFAULT_MAX_BYTES = 900_000  # OVERLAY_MEDIA_MAX_BYTES: under the 1 MiB request body limit
MAX_FILES = 50  # per guild


@dataclass(frozen=True)
class Sniffed:
    what: str  # image or sound
    content_type: str


def _is_mp3(data: bytes) -> bool:
    if data.startswith(b"ID3"):
        return True
    # A bare MPEG audio frame: 11 sync bits, then a layer that is not "reserved".
    return len(data) > 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06 != 0


def sniff(data: bytes) -> Sniffed | None:
    """What the bytes are, or None for anything not accepted."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image", "image/gif")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return Sniffed("sound", "audio/wav")
    if head.startswith(b"OggS"):
        return Sniffed("sound", "audio/ogg")
    if _is_mp3(head):
        return Sniffed("sound", "audio/mpeg")
    return None


def check_upload(data: bytes, max_bytes: int) -> Sniffed:
    """The file's kind; refuses an empty, too big or unknown file in the streamer's words."""
    if not data:
        raise OverlayRefused("Choose a file to upload.", field="file")
    if len(data) > max_bytes:
        # in kB, as the page lists files: the file's rounded up and the cap's down, so the two
        # never read the same
        raise OverlayRefused(
            f"That file is {-(-len(data) // 1000):,} kB; the largest this server takes is "
            f"{max_bytes // 1000:,} kB.",
            field="file",
        )
    found = sniff(data)
    if found is None:
        raise OverlayRefused(
            "That file is not a picture (PNG, JPEG, GIF, WebP) or a sound (MP3, Ogg, WAV).",
            field="file",
        )
    return found


def clean_name(name: str) -> str:
    """A file name to show on the dashboard (the path a browser may send dropped)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    shown = "".join(ch for ch in base if ch.isprintable())
    return " ".join(shown.split())[:100] or "upload"
