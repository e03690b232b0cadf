"""xborder's benchmark (issue 7): ``python -m bench.run`` (``make bench``, ``xborder bench``).

Modules:
  run         the command line, the run matrix and the interleaving with the ceiling
  store       the store of pending payments (SQLite file cache, PostgreSQL template database)
  workload    client keys and pre-signed (and pre-encrypted) raw HTTP requests
  loadgen     wrk with a replaying Lua script, or a Python fallback generator
  servers     ``xborder serve`` and the no-op ceiling server as process groups, RSS sampling
  noop        the no-op ASGI app of the ceiling, served by uvicorn like ``xborder serve``
  report      the markdown table and the PNG chart
"""
