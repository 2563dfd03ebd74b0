"""The Python `websockets` client (pinned in ../test-servers/requirements.txt), driven the way
the library's own Autobahn compliance client drives a fuzzingserver (compliance/asyncio/
client.py): the case count, each case echoing every message, then the reports.

Usage: python3 websockets_client.py ws://127.0.0.1:PORT   (as `wsconform serve --exec`'s {url})
"""

import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

SERVER = sys.argv[1]
AGENT = "websockets"


async def get_case_count():
    async with connect(f"{SERVER}/getCaseCount") as ws:
        return json.loads(await ws.recv())


async def run_case(case):
    async with connect(f"{SERVER}/runCase?case={case}&agent={AGENT}", max_size=2**25) as ws:
        try:
            async for msg in ws:
                await ws.send(msg)
        except WebSocketException:
            pass


async def update_reports():
    async with connect(f"{SERVER}/updateReports?agent={AGENT}", open_timeout=60):
        pass


async def main():
    cases = await get_case_count()
    for case in range(1, cases + 1):
        try:
            await run_case(case)
        except (WebSocketException, OSError):
            pass
    await update_reports()


if __name__ == "__main__":
    asyncio.run(main())
