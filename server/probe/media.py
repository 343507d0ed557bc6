"""What a probe peer sends: small grey video frames, cheap to encode on a small machine.

The benchmarks (bench/setup.py) and the end-to-end tests (tests/e2e/peers.py) send the same
track.
"""

from __future__ import annotations

from typing import Final

import av
from aiortc import VideoStreamTrack

#: the synthetic picture's size
WIDTH: Final = 160
HEIGHT: Final = 120


class GreyVideo(VideoStreamTrack):
    """Small grey frames at the track's own pace."""

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=WIDTH, height=HEIGHT, format="yuv420p")
        for plane in frame.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts, frame.time_base = pts, time_base
        return frame
