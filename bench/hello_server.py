"""The peer for bench/pages.py: an aiohttp hello-world page.

``python -m bench.hello_server --host 127.0.0.1 --port P``

``GET /`` answers ``Hello, World!`` as text/plain: no templates, database, middleware or
access log, on the same stack as Balie (aiohttp, and uvloop when installed, as ``balie
serve`` uses it). What any aiohttp page must at least pay per request on this machine.
"""

from __future__ import annotations

import argparse
import asyncio

from aiohttp import web


def make_app() -> web.Application:
    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="Hello, World!")

    app = web.Application()
    app.router.add_get("/", hello)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        loop = asyncio.new_event_loop()
    else:
        loop = uvloop.new_event_loop()
    web.run_app(make_app(), host=args.host, port=args.port, print=None, access_log=None, loop=loop)


if __name__ == "__main__":
    main()
