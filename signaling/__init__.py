"""Rooms and the signalling protocol, free of I/O (see docs/signaling.md)."""
