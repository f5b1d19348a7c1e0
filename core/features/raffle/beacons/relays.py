"""drand relays over HTTP (``RAFFLE_BEACON_URLS``), asked in order; the first good answer wins.

A relay serves ``GET {relay}/{chain hash}/info`` and ``GET {relay}/{chain hash}/public/{round}``
(``{"round", "randomness", "signature"}``, plus ``"previous_signature"`` on a chained scheme;
404 or 425 for a round not out yet). A round is used only once its signature checks out against
the chain's public key (:mod:`.drand_signatures`) and its randomness is SHA-256 of that
signature: a relay that answers anything else is skipped and logged, and the next one is asked.

A pinned chain (:mod:`.drand_chains`) needs no ``/info`` at all: its key and timing are in the
code, so no relay can change them. Any other chain's ``/info`` comes from the relays, and its
public key is then written into the proof.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence

import httpx

from core.features.raffle.beacons import chains as drand_chains
from core.features.raffle.beacons.signatures import (
    SignatureRefused,
    check_signature,
    randomness_of,
)
from core.features.raffle.ports import BeaconInfo, BeaconRound, BeaconUnavailable
from core.platforms.bounded_body import ACCEPT, BoundedBody, TooLarge, Unreadable
from core.platforms.http import tls_context
from core.platforms.lenient import as_int, parsed_json

log = logging.getLogger(__name__)
_HEX = re.compile(r"(?:[0-9a-f]{2}){16,}")
NOT_YET = {404, 425}
MAX_GENESIS_TIME = 4_102_444_800  # 2100-01-01: a chain's start, in Unix seconds
MAX_PERIOD_SECONDS = 86_400
SAID_MAX = 40  # characters of a relay's own text quoted in a refusal
# Bytes of a relay's answer read at most: a round is under 1 KB and an /info a few; a relay
# answering more (gigabytes, say) is refused before it fills the memory. A gzip answer (the one
# compression asked for) is held to it as it is inflated: a few KB can inflate to gigabytes.
REPLY_MAX_BYTES = 64 * 1024


def pinned_info(chain: drand_chains.Chain) -> BeaconInfo:
    return BeaconInfo(
        genesis_time=chain.genesis_time,
        period_seconds=chain.period_seconds,
        chain_hash=chain.hash,
        scheme=chain.scheme,
        public_key=chain.public_key,
    )


class HttpBeacon:
    """``urls``: one relay or several; ``chain``: the chain new periods use (``quicknet``,
    ``default`` or a hash), or None for the chain the first relay serves at its root;
    ``timeout``: the seconds each relay has for a whole answer, by ``clock``."""

    def __init__(
        self,
        urls: str | Sequence[str],
        *,
        chain: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        listed = [urls] if isinstance(urls, str) else list(urls)
        self.urls = tuple(url.rstrip("/") for url in listed if url)
        self.url = self.urls[0] if self.urls else ""
        self.chain_hash = drand_chains.chain_hash_of(chain) if chain else None
        self.timeout = timeout
        self.clock = clock

    def info(self) -> BeaconInfo:
        chain = drand_chains.pinned(self.chain_hash)
        if chain is not None:
            return pinned_info(chain)
        prefix = f"/{self.chain_hash}" if self.chain_hash else ""
        problems = []
        for url in self.urls:
            try:
                return self._relay_info(url, prefix)
            except BeaconUnavailable as exc:
                log.warning("drand relay %s skipped: %s", url, exc)
                problems.append(f"{url}: {exc}")
        raise BeaconUnavailable(_summary("no relay gave the chain's info", problems))

    def _relay_info(self, url: str, prefix: str) -> BeaconInfo:
        body = _json_object(self._get(url, f"{prefix}/info"))
        genesis, period = as_int(body.get("genesis_time")), as_int(body.get("period"))
        if genesis is None or period is None:
            raise BeaconUnavailable("its /info has no genesis_time and period")
        if not 0 <= genesis <= MAX_GENESIS_TIME:
            raise BeaconUnavailable("its genesis_time is not a time this century")
        if not 0 < period <= MAX_PERIOD_SECONDS:
            raise BeaconUnavailable("its period is not a number of seconds up to a day")
        chain_hash = str(body.get("hash") or body.get("chain_hash") or "").lower()
        if not re.fullmatch(r"[0-9a-f]{64}", chain_hash):
            raise BeaconUnavailable("its /info names no chain hash")
        if self.chain_hash and chain_hash != self.chain_hash:
            raise BeaconUnavailable(f"it serves chain {chain_hash[:8]}..., not the one asked for")
        chain = drand_chains.pinned(chain_hash)
        if chain is not None:
            # A relay cannot change a pinned chain: what it says must be what the code knows.
            if (str(body.get("public_key", "")).lower(), genesis, period) != (
                chain.public_key,
                chain.genesis_time,
                chain.period_seconds,
            ):
                raise BeaconUnavailable(f"its /info for {chain.name} differs from the pinned one")
            return pinned_info(chain)
        scheme = str(body.get("schemeID") or body.get("scheme") or "")
        if scheme not in drand_chains.SCHEMES:
            # Its first words only: the text is anything a relay sent (100,000 characters).
            raise BeaconUnavailable(f"its scheme {scheme[:SAID_MAX]!r} is not supported")
        public_key = str(body.get("public_key", "")).lower()
        if not _HEX.fullmatch(public_key):
            raise BeaconUnavailable("its /info has no public key")
        return BeaconInfo(genesis, period, chain_hash, scheme, public_key)

    def fetch_round(self, number: int, chain: BeaconInfo) -> BeaconRound | None:
        if not (chain.chain_hash and chain.scheme and chain.public_key):
            raise BeaconUnavailable("the period names no chain whose signatures can be checked")
        waiting, problems = False, []
        for url in self.urls:
            try:
                found = self._relay_round(url, number, chain)
            except BeaconUnavailable as exc:
                log.warning("drand relay %s skipped for round %s: %s", url, number, exc)
                problems.append(f"{url}: {exc}")
                continue
            if found is None:
                waiting = True
                continue
            return found
        if waiting:
            return None
        raise BeaconUnavailable(_summary(f"no relay gave round {number}", problems))

    def _relay_round(self, url: str, number: int, chain: BeaconInfo) -> BeaconRound | None:
        response = self._get(url, f"/{chain.chain_hash}/public/{number}")
        if response.status_code in NOT_YET:
            return None
        body = _json_object(response)
        signature = str(body.get("signature", "")).lower()
        previous = str(body.get("previous_signature", "")).lower() or None
        if body.get("round") != number or not _HEX.fullmatch(signature):
            raise BeaconUnavailable(f"it answered round {number} with something else")
        randomness = randomness_of(signature)
        if str(body.get("randomness", "")).lower() != randomness:
            raise BeaconUnavailable("its randomness is not SHA-256 of its signature")
        if chain.scheme != drand_chains.CHAINED:
            previous = None
        try:
            check_signature(chain.scheme or "", chain.public_key or "", number, signature, previous)
        except SignatureRefused as exc:
            raise BeaconUnavailable(f"bad signature for round {number} ({exc})") from exc
        return BeaconRound(number, randomness, signature, previous)

    def _get(self, url: str, path: str) -> httpx.Response:
        """The relay's answer: its status, and its body when that is 200 (nothing reads another
        one), read up to :data:`REPLY_MAX_BYTES`; BeaconUnavailable past that, or when the
        whole answer takes more than ``timeout`` (httpx's own limit is per read: a relay
        sending a byte every few seconds would hold the draw for hours)."""
        deadline = self.clock() + self.timeout
        try:
            with httpx.stream(
                "GET",
                f"{url}{path}",
                headers=ACCEPT,
                timeout=self.timeout,
                verify=tls_context(),
            ) as response:
                body = b""
                if response.status_code == 200:
                    body = _bounded_body(response, lambda: self._in_time(deadline))
                self._in_time(deadline)
        except httpx.HTTPError as exc:
            raise BeaconUnavailable("it did not answer") from exc
        return httpx.Response(response.status_code, content=body, request=response.request)

    def _in_time(self, deadline: float) -> None:
        if self.clock() > deadline:
            raise BeaconUnavailable(f"it took over {self.timeout:g} s to answer")


def _summary(head: str, problems: list[str]) -> str:
    return f"{head}: " + "; ".join(problems) if problems else f"{head} (no relay configured)"


def _bounded_body(response: httpx.Response, in_time: Callable[[], None]) -> bytes:
    """The body, read up to :data:`REPLY_MAX_BYTES` as it is and as it inflates
    (:mod:`core.platforms.bounded_body`); BeaconUnavailable past that, or unreadable, or when
    ``in_time()`` (asked after each chunk) says its time is up."""
    too_big = BeaconUnavailable(f"its answer is over {REPLY_MAX_BYTES // 1024} KiB")
    declared = as_int(response.headers.get("content-length"))
    if declared is not None and declared > REPLY_MAX_BYTES:
        raise too_big
    try:
        body = BoundedBody(response.headers.get("content-encoding"), REPLY_MAX_BYTES)
        for chunk in response.iter_raw():
            in_time()
            body.add(chunk)
        return body.read()
    except TooLarge:
        raise too_big from None
    except Unreadable as exc:
        raise BeaconUnavailable(f"its answer is {exc}") from None


def _json_object(response: httpx.Response) -> dict:
    if response.status_code != 200:
        raise BeaconUnavailable(f"it answered HTTP {response.status_code}")
    try:
        body = parsed_json(response.content)
    except ValueError as exc:
        raise BeaconUnavailable("it did not answer JSON") from exc
    if not isinstance(body, dict):
        raise BeaconUnavailable("it did not answer a JSON object")
    return body
