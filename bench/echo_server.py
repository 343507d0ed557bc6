"""The ceiling for bench/relay.py: a bare aiohttp WebSocket echo server.

``python -m bench.echo_server --host 127.0.0.1 --port P [--compress] [--heartbeat S]``

It returns every text frame unparsed on the socket it came from, so it costs one receive and
one send per message: what any relay must at least pay on the same stack (aiohttp, and uvloop
when installed, as Balie uses it). bench/connections.py uses it as the ceiling for memory per
held socket, with ``--heartbeat`` set like Balie's pings.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import WSMsgType, web


def make_app(compress: bool, heartbeat: float | None = None) -> web.Application:
    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=compress, max_msg_size=1 << 20, heartbeat=heartbeat)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/ws", echo)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--compress", action="store_true", help="accept permessage-deflate")
    parser.add_argument(
        "--heartbeat", type=float, default=None, help="seconds between pings (default: none)"
    )
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    web.run_app(
        make_app(args.compress, args.heartbeat),
        host=args.host,
        port=args.port,
        print=None,
        access_log=None,
        loop=asyncio.new_event_loop() if loop_factory is None else loop_factory(),
    )


if __name__ == "__main__":
    main()
