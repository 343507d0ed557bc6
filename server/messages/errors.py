"""The errors of server/messages, as one tree::

    MessagesError
    ├── InvalidTransition      an outbox message asked to move from a state that does not allow it
    ├── BadPhoneNumber         not a number we can send to (the resident's form says why)
    └── DeliveryError          one attempt to deliver failed
        ├── DeliveryRefused    permanently: retrying cannot help (a refused address, a bad
        │                      number, wrong credentials); the message fails at once
        └── DeliveryDeferred   for now: the server is down, busy or timed out; retried later

Their messages never hold personal data (an address, a number, a text): they end up in logs
and in the planner's overview of failed messages.
"""

from __future__ import annotations


class MessagesError(Exception):
    """Base of every error raised by server/messages."""


class InvalidTransition(MessagesError):
    """The message is in a state that does not allow the change; names both."""

    def __init__(self, state: str, change: str) -> None:
        super().__init__(f"cannot {change} a message that is {state}")
        self.state = state
        self.change = change


class BadPhoneNumber(MessagesError, ValueError):
    """A phone number that is not one (or not a mobile one where an SMS must go)."""


class DeliveryError(MessagesError):
    """One delivery attempt failed; ``reason`` is short and free of personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


class DeliveryRefused(DeliveryError):
    """Retrying cannot help: the message fails at once and the planner sees why."""


class DeliveryDeferred(DeliveryError):
    """Worth retrying later, with backoff."""
