"""query-status round trips per second with python qemu.qmp.

Usage: qmp_rate.py SOCKET COUNT serial|concurrent
Prints the rate: COUNT calls one after the other, or in batches of 100
in flight at once (asyncio.gather).
"""

import asyncio
import sys
import time

from qemu.qmp import QMPClient


async def main(path, count, concurrent):
    qmp = QMPClient("bench")
    await qmp.connect(path)
    await qmp.execute("query-status")
    started = time.perf_counter()
    if concurrent:
        for _ in range(count // 100):
            await asyncio.gather(*[qmp.execute("query-status") for _ in range(100)])
    else:
        for _ in range(count):
            await qmp.execute("query-status")
    elapsed = time.perf_counter() - started
    print(f"{count / elapsed:.0f}")
    await qmp.disconnect()


asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "concurrent"))
