// Node's own http server writing chunked responses, for framekit's
// chunked interop test (issue 19). No npm package: node:http only.
//
//   node chunked.mjs     prints "LISTEN chunked PORT", then READY.
//
// GET /?chunks=N answers with N chunks (one res.write each) of random
// bytes (1 B to 64 KiB), headers X-Chunks (N) and X-Body-Sha256, and, when
// N is odd, a trailer X-Trailer-Sha256 with the same digest. Connections
// are kept alive.
import http from 'node:http'
import { createHash, randomBytes, randomInt } from 'node:crypto'

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x')
  const n = Number(url.searchParams.get('chunks'))
  const chunks = []
  for (let i = 0; i < n; i++) {
    chunks.push(randomBytes(1 + randomInt(randomInt(8) === 0 ? 65536 : 2048)))
  }
  const sum = createHash('sha256').update(Buffer.concat(chunks)).digest('hex')
  const headers = { 'Content-Type': 'application/octet-stream', 'X-Chunks': String(n), 'X-Body-Sha256': sum }
  if (n % 2 === 1) headers.Trailer = 'X-Trailer-Sha256'
  res.writeHead(200, headers)
  for (const c of chunks) res.write(c)
  if (n % 2 === 1) res.addTrailers({ 'X-Trailer-Sha256': sum })
  res.end()
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTEN chunked ${server.address().port}\nREADY\n`)
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
