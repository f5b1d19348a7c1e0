"""Live backends: their listening threads stop with the runtime."""


def test_closing_the_runtime_stops_the_table_poller(make_runtime):
    """The poller holds a database connection: it must stop when the runtime closes, or every
    closed runtime leaves a thread reconnecting to its database (the suite ran PostgreSQL out
    of connections that way)."""
    runtime = make_runtime()
    runtime.live_backend.listen(lambda guild_id, topic, seq: None)
    poller = runtime.live_backend._thread
    assert poller is not None
    assert poller.is_alive()
    runtime.close()
    assert not poller.is_alive()
