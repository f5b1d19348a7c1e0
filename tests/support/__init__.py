"""Helpers shared by test files (import them from here rather than copying them):

- ``clock``: ``Clock``, the settable "now" every fake and service takes, and ``Ticker``, its
  monotonic-seconds counterpart;
- ``waiting``: ``eventually`` (poll a condition within a time budget), ``no_sleep`` and
  ``RecordingSleep`` (stand-ins for ``asyncio.sleep``);
- ``delivery``: run the runtime's bus consumer until what the web side queued is handled;
- ``events``: builders for platform events (``chat_message``) with the required fields filled.
"""
