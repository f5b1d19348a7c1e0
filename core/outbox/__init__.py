"""The outbox: every call to an outside service leaves the event path.

A handler that decides a call (add a VIP, answer in chat, post in Discord) writes it as a row of
``outbox`` in its own transaction (:func:`store.enqueue`), so the call is decided exactly when
the handler's other changes are, and a handler never waits on a partner. Each service's
:class:`worker.OutboxWorker` claims due calls for as long as its process lives (a killed
process's calls pass to another within seconds of its heartbeat running out, see
``core/ownership/claims.py``), retries with backoff and records the final state: done,
refused with the service's reason, uncertain (never sent again where the service has no
idempotency key), or failed.
"""

DISCORD = "discord"  # the service of calls to Discord: posts, DMs, roles (each process its shard's)
