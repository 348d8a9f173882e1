"""What the sandbox's own methods raise: a reference it does not know, a payment it cannot take.

Answers of the emulated APIs are never exceptions: they are the providers'
error JSON, which the SDKs turn into their own exceptions.
"""

from __future__ import annotations

__all__ = ["NotPayable", "SandboxError", "UnknownReference"]


class SandboxError(Exception):
    """The root of the sandbox's own errors."""


class UnknownReference(SandboxError, LookupError):
    """No order or session with this reference at this provider (the pay page answers 404)."""


class NotPayable(SandboxError):
    """The order or session cannot take this action now: paid already, expired (409)."""
