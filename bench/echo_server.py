# The classic asyncio length-prefixed echo server (readexactly + struct),
# for bench's echo benchmark: prints its port, serves until killed.
import asyncio
import struct
import sys


async def handle(reader, writer):
    try:
        while True:
            hdr = await reader.readexactly(4)
            (n,) = struct.unpack(">I", hdr)
            payload = await reader.readexactly(n)
            writer.write(hdr + payload)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
