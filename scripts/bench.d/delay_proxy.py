#!/usr/bin/env python3
"""scripts/bench.d/delay_proxy.py — a TCP relay that delays every byte.

    delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Listens on 127.0.0.1:LISTEN_PORT and relays each connection to
127.0.0.1:TARGET_PORT, holding what it reads in either direction for
DELAY_MS before writing it on (order kept), so a round trip through it costs
2 x DELAY_MS more: a network's latency without root or the kernel's netem.
scripts/bench's early section runs it on the client's CPU.
"""
import asyncio
import socket
import sys


async def pipe(reader, writer, delay):
    loop = asyncio.get_running_loop()
    last = 0.0
    try:
        while True:
            data = await reader.read(65536)
            # Each chunk goes out DELAY after it came, never before the one
            # ahead of it.
            last = max(loop.time() + delay, last)
            if not data:
                loop.call_at(last, close, writer)
                return
            loop.call_at(last, writer.write, data)
    except (ConnectionError, OSError):
        loop.call_at(last, close, writer)


def close(writer):
    try:
        if writer.can_write_eof():
            writer.write_eof()
        else:
            writer.close()
    except (ConnectionError, OSError):
        writer.close()


async def relay(c_reader, c_writer, target, delay):
    try:
        s_reader, s_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        c_writer.close()
        return
    for w in (c_writer, s_writer):
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await asyncio.gather(pipe(c_reader, s_writer, delay), pipe(s_reader, c_writer, delay))
    await asyncio.sleep(delay)
    for w in (c_writer, s_writer):
        w.close()


async def main():
    listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
    server = await asyncio.start_server(lambda r, w: relay(r, w, target, delay),
                                        "127.0.0.1", listen, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
