"""!points in Twitch chat in a guild that keeps its points in StreamElements, through the real
router, against the loopback fake StreamElements."""

from __future__ import annotations

import pytest

from core.features.chat_commands.replies import ChatReplier
from core.features.chat_commands.router import ChatCommandRouter
from core.features.points.chat import PointsChat
from core.features.points.se_wallet import SeWallet
from core.features.points.service import PointsService
from core.platforms.streamelements.api import StreamElementsPoints
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.streamelements_server import CHANNEL_ID, JWT, FakeStreamElements
from tests.features.chat_commands.doubles import T0, RecordingSender
from tests.features.points.test_chat import GUILD, ask, twitch_chat
from tests.support.clock import Clock
from tests.support.waiting import no_sleep


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        fake.points.update(ann=300, bob=1000)
        yield fake


@pytest.fixture
async def router(sqlite_engine, se):
    sender = RecordingSender()
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as client:
        wallet = SeWallet(sqlite_engine, Clock(T0), TokenCipher(TEST_FERNET_KEY), client)
        wallet.use_streamelements(GUILD, CHANNEL_ID, JWT)
        points = PointsService(sqlite_engine, Clock(T0))
        replies = ChatReplier(lambda platform: sender)
        yield ChatCommandRouter(PointsChat(points, wallet).commands(), replies), sender


async def test_another_viewers_balance_while_streamelements_is_down_says_so(router, se):
    """Asked for another viewer's balance while StreamElements failed, the bot said
    "StreamElements has no points for bob.", as if bob had none there."""
    router, sender = router
    await ask(router, twitch_chat("!points bob"))
    se.fail_next("500", "500", "500")  # the first try and both retries
    await ask(router, twitch_chat("!points bob", user_id="5556", login="cat"))
    assert sender.texts[0] == "bob has 1,000 points on StreamElements."
    assert sender.texts[1].startswith("StreamElements did not answer")
