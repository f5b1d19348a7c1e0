"""A drand-style public randomness beacon over HTTP (``RAFFLE_BEACON_URL``).

``GET {url}/info`` gives ``{"genesis_time", "period"}``; ``GET {url}/public/{round}`` gives
``{"round", "randomness"}``, and 404 or 425 for a round not out yet.
"""

from __future__ import annotations

import re

import httpx

from core.features.raffle.ports import BeaconInfo, BeaconRound, BeaconUnavailable

_HEX = re.compile(r"[0-9a-f]{32,128}")
NOT_YET = {404, 425}


class HttpBeacon:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _get(self, path: str) -> httpx.Response:
        try:
            return httpx.get(f"{self.url}{path}", timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise BeaconUnavailable(f"the beacon at {self.url} did not answer") from exc

    def info(self) -> BeaconInfo:
        response = self._get("/info")
        body = _json_object(response)
        try:
            genesis, period = int(body["genesis_time"]), int(body["period"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BeaconUnavailable("the beacon's /info has no genesis_time and period") from exc
        if period <= 0:
            raise BeaconUnavailable("the beacon's period is not positive")
        return BeaconInfo(genesis_time=genesis, period_seconds=period)

    def fetch_round(self, number: int) -> BeaconRound | None:
        response = self._get(f"/public/{number}")
        if response.status_code in NOT_YET:
            return None
        body = _json_object(response)
        randomness = str(body.get("randomness", "")).lower()
        if body.get("round") != number or not _HEX.fullmatch(randomness):
            raise BeaconUnavailable(f"the beacon answered round {number} with something else")
        return BeaconRound(round=number, randomness=randomness)


def _json_object(response: httpx.Response) -> dict:
    if response.status_code != 200:
        raise BeaconUnavailable(f"the beacon answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError as exc:
        raise BeaconUnavailable("the beacon did not answer JSON") from exc
    if not isinstance(body, dict):
        raise BeaconUnavailable("the beacon did not answer a JSON object")
    return body
