"""aiortc test peers that negotiate through Balie's signalling: the probe's peer
(server/probe/peer.py), checking every frame it decodes.

aiortc gathers all candidates before ``setLocalDescription`` returns (it does not trickle)
and cannot roll back, so a test peer offers only from the impolite seat (the specialist)
and sends ``candidate: null`` after its description to close the trickle (``negotiate``).
"""

from __future__ import annotations

from typing import Any

import av

from server.probe.peer import VideoPeer, negotiate

__all__ = ["TestPeer", "negotiate"]


class TestPeer(VideoPeer):
    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        super().__init__()
        self.last_pts: int | None = None
        self.sizes: set[tuple[int, int]] = set()

    def on_frame(self, frame: Any) -> None:
        assert isinstance(frame, av.VideoFrame)
        if frame.pts is not None:
            # timestamps must move forward: these are live frames, not repeats
            assert self.last_pts is None or frame.pts > self.last_pts
            self.last_pts = frame.pts
        self.sizes.add((frame.width, frame.height))
