"""The errors of :mod:`server.booking`: one tree, every one a :class:`BookingError`.

Bad input is refused when the value is built, with a message naming the value::

    BookingError
    ├── InvalidInput         a value handed to the engine is out of range (also a ValueError)
    │   ├── InvalidRule        weekly hours or an exception: weekday, times, kind
    │   ├── InvalidPurpose     duration, buffers, notice, horizon, interval, cap, skill
    │   ├── InvalidInterval    a busy block or allocation: naive or empty period, hold expiry
    │   └── InvalidRequest     naive ``now`` or start, staff listed twice, a bad cap or id
    └── NoStaffFree          pick_staff was handed a slot that names no staff
"""


class BookingError(Exception):
    """Base of every error raised by :mod:`server.booking`."""


class InvalidInput(BookingError, ValueError):
    """A value handed to the engine is out of range; the message names it."""


class InvalidRule(InvalidInput):
    """Weekly hours or an availability exception are malformed."""


class InvalidPurpose(InvalidInput):
    """A purpose's booking rules are out of range."""


class InvalidInterval(InvalidInput):
    """A busy block or allocation has a naive or empty period, or a bad hold expiry."""


class InvalidRequest(InvalidInput):
    """The request as a whole is malformed (naive ``now``, staff listed twice, ...)."""


class NoStaffFree(BookingError):
    """:func:`pick_staff` was handed a slot that names no staff member."""
