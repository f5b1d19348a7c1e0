"""Overlays need nothing from outside: they read our database and are served by the web app.

What they follow of other features comes through those features' own ports
(``vip.ports.AUDIT_WRITTEN``, ``raffle.ports.TICKETS_AWARDED``, hooks on the writing
transaction, ``core/storage/hooks.py``) and the ``SubscriptionsGifted`` event."""
