"""A platform's chat sender, as both platforms' clients hold it: built on first use, on the bot's
event loop (its HTTP client belongs to that loop), and closed at shutdown after sending what it
still had queued."""

from __future__ import annotations

import functools
from typing import Generic, Protocol, TypeVar


class _Closing(Protocol):
    async def aclose(self) -> None: ...


class _Sender(Protocol):
    async def close(self) -> None: ...


Sender = TypeVar("Sender", bound=_Sender)


class ChatOnLoop(Generic[Sender]):
    def _build_chat(self) -> tuple[Sender, _Closing]:
        """The sender and the HTTP client it speaks through."""
        raise NotImplementedError

    @functools.cached_property
    def chat(self) -> Sender:
        sender, self._chat_client = self._build_chat()
        return sender

    async def close_chat(self) -> None:
        """Send what is queued, then close the chat sender's HTTP client (on the bot's loop)."""
        if "chat" in self.__dict__:
            await self.chat.close()
            await self._chat_client.aclose()
            del self.__dict__["chat"]
