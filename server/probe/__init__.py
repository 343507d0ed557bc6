"""Probing a running deployment: the probe-room endpoint (``BALIE_PROBE_SECRET``) and the
``balie probe`` command's synthetic call with two aiortc peers (docs/operations.md)."""
