"""The classic Python framing patterns, with asyncio streams and struct, as a
peer for framekit's interop tests. Standard library only.

  peer.py server SPEC...                   SPEC is CONFIG or CONFIG:LIMIT (the
                                           StreamReader limit, 64 KiB by
                                           default); prints "LISTEN SPEC PORT"
                                           for each, then READY, and
                                           "EXCEPTION SPEC TYPE: MESSAGE" for
                                           every error on a connection
  peer.py client SEED COUNT CONFIG=ADDR... sends COUNT frames to each address,
                                           checks the echo, prints
                                           "DONE CONFIG FRAMES BYTES SHA256" or
                                           "FAIL CONFIG REASON"

CONFIG is u32be (struct.pack('>I', n) before each message), i32 (the socket
tutorials' struct.pack('i', n): native byte order and size, signed) or lines
(readline()).
"""

import asyncio
import hashlib
import random
import struct
import sys

HEADER = {"u32be": ">I", "i32": "i"}


def say(line):
    print(line, flush=True)


async def read_frame(reader, config):
    """Returns the next frame, or None at a clean end of stream."""
    if config in HEADER:
        try:
            header = await reader.readexactly(struct.calcsize(HEADER[config]))
        except asyncio.IncompleteReadError as e:
            if not e.partial:
                return None
            raise
        (n,) = struct.unpack(HEADER[config], header)
        return await reader.readexactly(n)
    line = await reader.readline()
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise EOFError("stream ended inside a line")
    return line[:-1]


def frame(config, payload):
    if config in HEADER:
        return struct.pack(HEADER[config], len(payload)) + payload
    return payload + b"\n"


async def echo(reader, writer, config, spec):
    try:
        while True:
            try:
                p = await read_frame(reader, config)
            except ValueError as e:
                # readline() over the limit: the line is dropped and the
                # stream goes on.
                say(f"EXCEPTION {spec} {type(e).__name__}: {e}")
                continue
            if p is None:
                break
            if ":" in spec:  # frame sizes only where the limit is shown
                say(f"FRAME {spec} {len(p)}")
            writer.write(frame(config, p))
            await writer.drain()
    except Exception as e:  # report, as Netty's exceptionCaught would
        say(f"EXCEPTION {spec} {type(e).__name__}: {e}")
    finally:
        writer.close()


async def server(specs):
    servers = []
    for spec in specs:
        config, _, limit = spec.partition(":")
        kwargs = {"limit": int(limit)} if limit else {}

        def handler(r, w, config=config, spec=spec):
            return echo(r, w, config, spec)

        s = await asyncio.start_server(handler, "127.0.0.1", 0, **kwargs)
        servers.append(s)
        say(f"LISTEN {spec} {s.sockets[0].getsockname()[1]}")
    say("READY")
    # Run until standard input closes.
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)


def size_of(r, max_size):
    """Draws a size in [0, max_size] as the Go tests do."""
    b = r.randrange(100)
    if b < 2:
        return max_size
    if b < 4:
        return 0
    if b < 50:
        return r.randrange(min(256, max_size + 1))
    if b < 80:
        return r.randrange(min(4096, max_size + 1))
    return r.randrange(max_size + 1)


def payload(config, r):
    p = r.randbytes(size_of(r, 64 << 10))
    if config == "lines":
        p = p.replace(b"\n", b"n")
        if p.endswith(b"\r"):
            p = p[:-1] + b"r"
    return p


def summary(frames):
    h = hashlib.sha256()
    for f in frames:
        h.update(len(f).to_bytes(8, "big"))
        h.update(f)
    return f"{len(frames)} {sum(map(len, frames))} {h.hexdigest()}"


async def client_one(config, addr, seed, count):
    r = random.Random(seed)
    frames = [payload(config, r) for _ in range(count)]
    host, port = addr.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 17)

    async def send():
        i = 0
        while i < len(frames):
            # Several frames in one write, or one.
            n = min(1 + r.randrange(4), len(frames) - i)
            writer.write(b"".join(frame(config, p) for p in frames[i:i + n]))
            i += n
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        for i, want in enumerate(frames):
            got = await read_frame(reader, config)
            if got != want:
                got_len = None if got is None else len(got)
                raise AssertionError(f"frame {i}: got {got_len} bytes, want {len(want)}, or different bytes")
        await sender
    finally:
        sender.cancel()
        writer.close()
    return summary(frames)


async def client(seed, count, targets):
    failed = 0
    for i, target in enumerate(targets):
        config, addr = target.split("=", 1)
        try:
            s = await asyncio.wait_for(client_one(config, addr, seed + i, count), 90)
            say(f"DONE {config} {s}")
        except Exception as e:
            say(f"FAIL {config} {type(e).__name__}: {e}")
            failed += 1
    return failed


def main():
    mode = sys.argv[1]
    if mode == "server":
        asyncio.run(server(sys.argv[2:]))
    elif mode == "client":
        sys.exit(1 if asyncio.run(client(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])) else 0)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
