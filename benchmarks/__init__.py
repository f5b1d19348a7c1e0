"""Benchmarks for StreamKeeper (``make bench`` / ``python -m benchmarks``); not part of the tests.

- :mod:`benchmarks.webhooks`: signed Kick webhooks through gunicorn, PostgreSQL and Redis.
- :mod:`benchmarks.watchtime`: one watchtime tick for 10,000 and 100,000 present viewers.
- :mod:`benchmarks.loadgen`: the asyncio load generator (closed and open loop).
- :mod:`benchmarks.reference_app`: reference WSGI apps and the former webhook path.
- :mod:`benchmarks.profile`: ``--profile``, py-spy on the gunicorn workers.
- :mod:`benchmarks.system`: versions and CPU accounting from /proc.

Figures and how to read them: ``docs/performance.md``.
"""
