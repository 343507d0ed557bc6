"""The signalling workload every server under test gets: realistic SDP and ICE candidates, and the
frame shape of each protocol.

Every relayed message carries its send time (``time.perf_counter_ns()``) inside a field that all
three servers pass through untouched: the session id of the SDP ``o=`` line and the foundation of
an ICE candidate. A relay may rebuild the JSON around them (Balie re-serialises and adds ``from``
and ``seq``), but never rewrites the SDP text or the candidate string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

Kind = Literal["offer", "answer", "candidate"]
ProtocolName = Literal["balie", "peerjs", "echo"]

# Stands in for the send time until the frame is sent; replaced with the decimal nanoseconds.
_TS_MARK: Final = "1111111111111111111"
_SDP_TS_PREFIX: Final = "v=0\r\no=- "
_CANDIDATE_TS_PREFIX: Final = "candidate:"

CANDIDATES_PER_SIDE: Final = 5


def _media_section(kind: Literal["audio", "video"], mid: int, seed: int, setup: str) -> list[str]:
    """One m-section as Chrome writes it, trimmed to the codecs a browser really offers."""
    ufrag = f"{seed:04x}"[-4:]
    pwd = f"{seed * 7919:024x}"[-24:]
    fingerprint = ":".join(f"{(seed * 31 + i * 17) % 256:02X}" for i in range(32))
    common = [
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ufrag}",
        f"a=ice-pwd:{pwd}",
        "a=ice-options:trickle",
        f"a=fingerprint:sha-256 {fingerprint}",
        f"a=setup:{setup}",
        f"a=mid:{mid}",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid",
        "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        "a=sendrecv",
        f"a=msid:stream{seed} track{kind}{seed}",
        "a=rtcp-mux",
    ]
    if kind == "audio":
        return [
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
            *common,
            "a=rtpmap:111 opus/48000/2",
            "a=rtcp-fb:111 transport-cc",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=rtpmap:63 red/48000/2",
            "a=fmtp:63 111/111",
            "a=rtpmap:9 G722/8000",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:13 CN/8000",
            "a=rtpmap:110 telephone-event/48000",
            "a=rtpmap:126 telephone-event/8000",
            f"a=ssrc:{1000 + seed} cname:bench{seed}",
        ]
    video = [
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 45 46",
        *common,
        "a=rtcp-rsize",
    ]
    for pt, codec, fmtp in (
        (96, "VP8/90000", None),
        (98, "VP9/90000", "profile-id=0"),
        (
            100,
            "H264/90000",
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        ),
        (45, "AV1/90000", "level-idx=5;profile=0;tier=0"),
    ):
        video += [
            f"a=rtpmap:{pt} {codec}",
            f"a=rtcp-fb:{pt} goog-remb",
            f"a=rtcp-fb:{pt} transport-cc",
            f"a=rtcp-fb:{pt} ccm fir",
            f"a=rtcp-fb:{pt} nack",
            f"a=rtcp-fb:{pt} nack pli",
        ]
        if fmtp:
            video.append(f"a=fmtp:{pt} {fmtp}")
        video += [f"a=rtpmap:{pt + 1} rtx/90000", f"a=fmtp:{pt + 1} apt={pt}"]
    video += [
        f"a=ssrc-group:FID {2000 + seed} {3000 + seed}",
        f"a=ssrc:{2000 + seed} cname:bench{seed}",
        f"a=ssrc:{3000 + seed} cname:bench{seed}",
    ]
    return video


def make_sdp(kind: Literal["offer", "answer"], seed: int) -> str:
    """A plausible browser SDP with audio and video (about 3 KB); the session id is a mark."""
    setup = "actpass" if kind == "offer" else "active"
    lines = [
        "v=0",
        f"o=- {_TS_MARK} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=extmap-allow-mixed",
        f"a=msid-semantic: WMS stream{seed}",
        *_media_section("audio", 0, seed, setup),
        *_media_section("video", 1, seed, setup),
    ]
    return "\r\n".join(lines) + "\r\n"


def make_candidates(seed: int, count: int = CANDIDATES_PER_SIDE) -> list[dict[str, Any]]:
    """Trickled ICE candidates (host, srflx, relay) as RTCIceCandidateInit; foundation is a mark."""
    shapes = (
        "udp {prio} 192.168.{a}.{b} {port} typ host",
        "tcp {prio} 192.168.{a}.{b} 9 typ host tcptype active",
        "udp {prio} 203.0.113.{b} {port} typ srflx raddr 192.168.{a}.{b} rport {port}",
        "udp {prio} 198.51.100.{b} {port} typ relay raddr 203.0.113.{b} rport {port}",
    )
    ufrag = f"{seed:04x}"[-4:]
    out = []
    for i in range(count):
        body = shapes[i % len(shapes)].format(
            prio=2122260223 - i * 65536, a=seed % 250, b=(seed + i) % 250, port=50000 + i
        )
        out.append(
            {
                "candidate": f"{_CANDIDATE_TS_PREFIX}{_TS_MARK} 1 {body} generation 0 "
                f"ufrag {ufrag} network-id 1 network-cost 10",
                "sdpMid": str(i % 2),
                "sdpMLineIndex": i % 2,
                "usernameFragment": ufrag,
            }
        )
    return out


@dataclass(frozen=True, slots=True)
class Template:
    """A serialised frame split around the send-time mark: frame = head + ts + tail."""

    head: bytes
    tail: bytes
    kind: Kind

    @classmethod
    def of(cls, frame: dict[str, Any], kind: Kind) -> Template:
        raw = orjson.dumps(frame)
        head, mark, tail = raw.partition(_TS_MARK.encode())
        if not mark or _TS_MARK.encode() in tail:
            raise ValueError("the send-time mark must occur exactly once in a frame")
        return cls(head, tail, kind)

    def render(self, ts_ns: int) -> bytes:
        return b"%s%d%s" % (self.head, ts_ns, self.tail)


def balie_frame(kind: Kind, to: str, body: Any) -> dict[str, Any]:
    """Balie's ``description``/``candidate`` with ``to`` (the echo ceiling gets these too)."""
    if kind == "candidate":
        return {"type": "candidate", "to": to, "candidate": body}
    return {"type": "description", "to": to, "description": {"type": kind, "sdp": body}}


def peerjs_frame(kind: Kind, to: str, body: Any, connection_id: str) -> dict[str, Any]:
    """The PeerJS client's shape: the payload wraps the SDP/candidate with the connection id."""
    if kind == "candidate":
        payload: dict[str, Any] = {
            "candidate": body,
            "type": "media",
            "connectionId": connection_id,
        }
        return {"type": "CANDIDATE", "dst": to, "payload": payload}
    payload = {
        "sdp": {"type": kind, "sdp": body},
        "type": "media",
        "connectionId": connection_id,
        "browser": "chrome",
    }
    if kind == "offer":
        payload["metadata"] = None
    return {"type": kind.upper(), "dst": to, "payload": payload}


def build_templates(
    protocol: ProtocolName, to: str, seed: int, role: Literal["offer", "answer"]
) -> tuple[Template, list[Template]]:
    """The description and the candidates one side of a pair sends to ``to``."""
    sdp = make_sdp(role, seed)
    cands = make_candidates(seed)
    if protocol == "peerjs":
        conn = f"mc_{seed:012x}"
        return (
            Template.of(peerjs_frame(role, to, sdp, conn), role),
            [Template.of(peerjs_frame("candidate", to, c, conn), "candidate") for c in cands],
        )
    return (
        Template.of(balie_frame(role, to, sdp), role),
        [Template.of(balie_frame("candidate", to, c), "candidate") for c in cands],
    )


def _ts_after(text: str, prefix: str) -> int | None:
    if not text.startswith(prefix):
        return None
    end = text.find(" ", len(prefix))
    digits = text[len(prefix) : end]
    return int(digits) if digits.isdigit() else None


def relayed_ts(protocol: ProtocolName, frame: Any) -> int | None:
    """The send time carried by a relayed offer/answer/candidate, or None for any other frame."""
    if not isinstance(frame, dict):
        return None
    try:
        if protocol == "peerjs":
            payload: Any = frame.get("payload")
            if frame.get("type") == "CANDIDATE":
                return _ts_after(payload["candidate"]["candidate"], _CANDIDATE_TS_PREFIX)
            if frame.get("type") in ("OFFER", "ANSWER"):
                return _ts_after(payload["sdp"]["sdp"], _SDP_TS_PREFIX)
            return None
        if frame.get("type") == "candidate":
            return _ts_after(frame["candidate"]["candidate"], _CANDIDATE_TS_PREFIX)
        if frame.get("type") == "description":
            return _ts_after(frame["description"]["sdp"], _SDP_TS_PREFIX)
    except (KeyError, TypeError):
        return None
    return None


def is_error(protocol: ProtocolName, frame: Any) -> bool:
    """A frame in which the server refused something (counted, and shown after the run)."""
    if not isinstance(frame, dict):
        return True
    kind = frame.get("type")
    if protocol == "peerjs":
        return kind in ("ERROR", "ID-TAKEN", "INVALID-KEY", "EXPIRE", "LEAVE")
    return kind in ("error", "denied", "ended", "peer-left")
