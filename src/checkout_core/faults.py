"""Faults of the world that the core knows by kind: those a second try may mend.

A fault of the world (a database down, a connection lost) is an exception,
never a :class:`~checkout_core.errors.CheckoutError`: it says nothing about
the request. Most such faults are the adapters' own exceptions and travel
up as they are. One kind the core acts on: a fault that may pass if the
work is done again at once, such as a connection the database server
closed in the middle of a transaction. An adapter raises
:class:`TransientFault` (from its own exception) for those, and only after
it has rolled back what it was doing, so that nothing of the failed try is
kept.

The service layer runs a use case met by one again, three times in all at
most (the seam every service method goes through): every use case is safe to run
again, as each one either writes in one transaction or is keyed (an
idempotency key, an event id). When the fault outlasts the tries it
propagates, and an HTTP adapter answers it as "temporarily unavailable"
(503, with ``Retry-After``).
"""

from __future__ import annotations

__all__ = ["TransientFault"]


class TransientFault(Exception):
    """A fault of the world that may pass if the work is done again at once.

    Raised by an adapter, chained to the adapter's own exception, once what
    the failed try wrote has been rolled back.
    """
