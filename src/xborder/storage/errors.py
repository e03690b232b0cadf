"""The storage layer's own errors: signals between its modules, never a client's answer."""

from __future__ import annotations


class SavepointsNeeded(BaseException):
    """A transaction without savepoints was asked to undo a change it cannot undo alone
    (:mod:`xborder.storage.transaction`).

    A ``BaseException``, so that no ``except Exception`` of a use case takes it for a
    refusal: it must reach the writer, which rolls the transaction back and runs its group
    again with savepoints (:mod:`xborder.storage.writer`)."""
