"""Echo server on Python `websockets` (pinned in requirements.txt), for the wsconform tests.

Usage: python3 echo_websockets.py [PORT] [--no-limit | --default-limit]   (0 or nothing: a free port)

--no-limit: no message size limit at all (max_size=None); --default-limit: the library's
default (1 MiB); both for scripts/bench-limit.sh.

Prints "LISTENING <port>" on stdout once it accepts connections, then echoes every message
until it is killed. Settings follow the library's own Autobahn compliance server
(compliance/autobahn/server.py): messages up to 32 MiB, permessage-deflate on (the
library's default, as its users run it).

As an application would, it serves one path (`/`; others get 404), refuses the Origin
http://forbidden.example (403) and supports the subprotocol `chat`: the facts the section 0
cases take from `--param not_found_path=/no-such-path --param
forbidden_origin=http://forbidden.example --param subprotocol=chat`.
"""

import asyncio
import sys
from http import HTTPStatus
from urllib.parse import urlsplit

from websockets.asyncio.server import serve


async def echo(websocket):
    try:
        async for message in websocket:
            await websocket.send(message)
    except Exception:
        # A peer that breaks the protocol ends its own connection, not the server.
        pass


def select_subprotocol(connection, subprotocols):
    # `chat` when offered; no subprotocol otherwise (clients without one are welcome).
    return "chat" if "chat" in subprotocols else None


def process_request(connection, request):
    # The path of an origin-form or absolute-form target (RFC 9112 §3.2).
    if urlsplit(request.path).path not in ("", "/"):
        return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")
    if request.headers.get("Origin") == "http://forbidden.example":
        return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden origin\n")
    return None


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    max_size = None if "--no-limit" in sys.argv[2:] else 2**25
    if "--default-limit" in sys.argv[2:]:
        max_size = 2**20
    async with serve(
        echo,
        "127.0.0.1",
        port,
        max_size=max_size,
        compression="deflate",
        subprotocols=["chat"],
        select_subprotocol=select_subprotocol,
        process_request=process_request,
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"LISTENING {bound}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
