// The npm package it-length-prefixed (unsigned varint length prefixes, as
// libp2p uses) as a peer for framekit's interop tests.
//
//   node peer.mjs server SPEC...              SPEC is uvarint or uvarint:MAX
//                                             (maxDataLength, 4 MiB by
//                                             default); prints "LISTEN SPEC
//                                             PORT" for each, then READY, and
//                                             "EXCEPTION SPEC NAME: MESSAGE"
//                                             for every error on a connection
//   node peer.mjs client SEED COUNT uvarint=ADDR
//                                             sends COUNT frames, checks the
//                                             echo, prints "DONE uvarint
//                                             FRAMES BYTES SHA256" or "FAIL
//                                             uvarint REASON"
import { createHash } from 'node:crypto'
import net from 'node:net'
import { once } from 'node:events'
import * as lp from 'it-length-prefixed'

function say (line) {
  process.stdout.write(line + '\n')
}

async function write (socket, bytes) {
  if (!socket.write(bytes)) {
    await once(socket, 'drain')
  }
}

async function echo (socket, spec, maxDataLength) {
  try {
    for await (const data of lp.decode(socket, { maxDataLength })) {
      if (spec.includes(':')) say(`FRAME ${spec} ${data.byteLength}`) // sizes only where the limit is shown
      await write(socket, lp.encode.single(data).subarray())
    }
    socket.end()
  } catch (e) {
    say(`EXCEPTION ${spec} ${e.name}: ${e.message}`)
    socket.destroy()
  }
}

async function server (specs) {
  for (const spec of specs) {
    const [, max] = spec.split(':')
    const maxDataLength = max ? Number(max) : undefined
    const s = net.createServer({ noDelay: true }, (socket) => { echo(socket, spec, maxDataLength) })
    s.listen(0, '127.0.0.1')
    await once(s, 'listening')
    say(`LISTEN ${spec} ${s.address().port}`)
  }
  say('READY')
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
}

// mulberry32: a small seeded generator, so a failure can be replayed.
function generator (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// sizeOf draws a size in [0, max] as the Go tests do.
function sizeOf (rnd, max) {
  const below = (n) => Math.floor(rnd() * n)
  const b = below(100)
  if (b < 2) return max
  if (b < 4) return 0
  if (b < 50) return below(Math.min(256, max + 1))
  if (b < 80) return below(Math.min(4096, max + 1))
  return below(max + 1)
}

function summary (frames) {
  const h = createHash('sha256')
  let total = 0
  for (const f of frames) {
    const n = Buffer.alloc(8)
    n.writeBigUInt64BE(BigInt(f.length))
    h.update(n)
    h.update(f)
    total += f.length
  }
  return `${frames.length} ${total} ${h.digest('hex')}`
}

async function clientOne (addr, seed, count) {
  const rnd = generator(seed)
  const frames = []
  for (let i = 0; i < count; i++) {
    const f = Buffer.alloc(sizeOf(rnd, 64 << 10))
    for (let j = 0; j < f.length; j++) f[j] = Math.floor(rnd() * 256)
    frames.push(f)
  }
  const [host, port] = addr.split(':')
  const socket = net.connect({ host, port: Number(port), noDelay: true })
  await once(socket, 'connect')

  const send = (async () => {
    // Several frames in one write, or one.
    for (let i = 0; i < frames.length;) {
      const n = Math.min(1 + Math.floor(rnd() * 4), frames.length - i)
      const parts = []
      for (const chunk of lp.encode(frames.slice(i, i + n))) parts.push(chunk)
      await write(socket, Buffer.concat(parts))
      i += n
    }
  })()

  let i = 0
  for await (const data of lp.decode(socket)) {
    const got = data.subarray()
    const want = frames[i]
    if (Buffer.compare(Buffer.from(got), want) !== 0) {
      throw new Error(`frame ${i}: got ${got.length} bytes, want ${want.length}, or different bytes`)
    }
    if (++i === frames.length) break
  }
  if (i !== frames.length) throw new Error(`connection ended after ${i} frames`)
  await send
  socket.end()
  return summary(frames)
}

async function client (seed, count, targets) {
  let failed = 0
  for (const [k, target] of targets.entries()) {
    const [config, addr] = target.split('=')
    try {
      const timer = new Promise((resolve, reject) => setTimeout(() => reject(new Error('timed out')), 90000).unref())
      say(`DONE ${config} ${await Promise.race([clientOne(addr, seed + k, count), timer])}`)
    } catch (e) {
      say(`FAIL ${config} ${e.name}: ${e.message}`)
      failed++
    }
  }
  return failed
}

const [mode, ...args] = process.argv.slice(2)
if (mode === 'server') {
  await server(args)
} else if (mode === 'client') {
  const failed = await client(Number(args[0]), Number(args[1]), args.slice(2))
  process.exit(failed === 0 ? 0 : 1)
} else {
  console.error(`unknown mode ${mode}`)
  process.exit(2)
}
