"""Calls in doubt: outbox calls that ended ``uncertain`` (a StreamElements payment answered 500,
a worker killed mid-call), listed per guild and settled once by an admin: "mark paid" (the admin
checked: it landed) or "pay again" (it did not: the same call is queued once more, under a key
derived from the old one). Each settlement is audited in ``payments_settlements``; the outbox row
itself is left as the worker wrote it."""
