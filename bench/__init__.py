"""xborder's benchmark (issues 7 and 12): ``python -m bench.run`` (``make bench``) measures
issue 12's targets.

Modules:
  run         the command line, the run matrix and the interleaving with the ceiling
  model       what is measured: a load generator's Load, a run's Spec and its Result
  store       the store of pending payments (SQLite file cache, PostgreSQL template database)
  workload    client keys and raw HTTP requests: unsigned, or pre-signed with Mastercard's
              signer (and pre-encrypted)
  loadgen     wrk with a replaying Lua script, or a Python fallback generator
  servers     ``xborder serve``, the no-op ceiling and WireMock as process groups, RSS sampling
  noop        the no-op ASGI app of the ceiling, served by uvicorn like ``xborder serve``
  wiremock    WireMock's static stub of the cancel call (the jar from npm's ``wiremock``)
  standins    the stand-ins for libraries, each timed in process against its library (issue 16)
  report      the markdown table, the targets table, the stand-ins and the PNG chart
"""
