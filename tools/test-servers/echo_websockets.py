"""Echo server on Python `websockets` (pinned in requirements.txt), for the wsconform tests.

Usage: python3 echo_websockets.py [PORT]   (0 or nothing: a free port)

Prints "LISTENING <port>" on stdout once it accepts connections, then echoes every message
until it is killed. Settings follow the library's own Autobahn compliance server
(compliance/autobahn/server.py): messages up to 32 MiB, no compression until the
permessage-deflate cases land.
"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(websocket):
    try:
        async for message in websocket:
            await websocket.send(message)
    except Exception:
        # A peer that breaks the protocol ends its own connection, not the server.
        pass


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    async with serve(echo, "127.0.0.1", port, max_size=2**25, compression=None) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"LISTENING {bound}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
