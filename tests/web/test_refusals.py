"""A service's refusal reaches a web client as a 400 with the service's words, never a 500."""

from __future__ import annotations

from core.features.raffle.errors import RaffleRefused
from core.features.refusals import Refused


def test_a_refusal_in_a_view_is_a_400_with_its_message(make_runtime) -> None:
    app = make_runtime().create_web_app()

    @app.get("/test-refusal/<kind>")
    def refuse(kind: str):  # type: ignore[no-untyped-def]
        raise (RaffleRefused if kind == "raffle" else Refused)(f"No {kind} <here>.")

    client = app.test_client()
    for kind in ("raffle", "plain"):
        answer = client.get(f"/test-refusal/{kind}")
        assert answer.status_code == 400
        assert answer.get_json() == {"status": "refused", "detail": f"No {kind} <here>."}
