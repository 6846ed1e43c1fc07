// vscode-jsonrpc (the LSP's JSON-RPC library, pinned by package-lock.json)
// as a peer for framekit's Content-Length interop test (issue 19).
//
//   node peer.mjs server        prints "LISTEN jsonrpc PORT", then READY;
//                               on each connection: request "echo" answers
//                               its params, notification "note" is summed,
//                               request "summary" answers {count, sha256}
//                               of the notes' strings (as UTF-8)
//   node peer.mjs client ADDR COUNT
//                               sends COUNT requests and notifications,
//                               strings of 0 B to 1 MiB with multi-byte
//                               UTF-8; checks every echo and the peer's
//                               summary; prints "DONE COUNT" or "FAIL ..."
import net from 'node:net'
import { createHash, randomInt } from 'node:crypto'
import rpc from 'vscode-jsonrpc/node.js'

const say = (line) => process.stdout.write(line + '\n')

function connect (socket) {
  return rpc.createMessageConnection(new rpc.SocketMessageReader(socket), new rpc.SocketMessageWriter(socket))
}

// text returns a string of about n UTF-8 bytes: ASCII, 2-, 3- and 4-byte
// characters (the last a surrogate pair in JavaScript).
function text (n) {
  const pieces = ['a', 'é', '日', '😀', '"', '\\', '\n', ' ']
  let s = ''
  let bytes = 0
  const parts = []
  while (bytes < n) {
    const p = pieces[randomInt(pieces.length)]
    parts.push(p)
    bytes += Buffer.byteLength(p)
    if (parts.length >= 4096) { s += parts.join(''); parts.length = 0 }
  }
  return s + parts.join('')
}

function size () {
  const b = randomInt(100)
  if (b < 1) return 1 << 20
  if (b < 3) return 0
  if (b < 60) return randomInt(256)
  if (b < 90) return randomInt(4096)
  return randomInt(65536)
}

function server () {
  const srv = net.createServer((socket) => {
    const c = connect(socket)
    const sum = createHash('sha256')
    let count = 0
    c.onRequest('echo', (params) => params)
    c.onNotification('note', (params) => { sum.update(Buffer.from(params.s, 'utf8')); count++ })
    c.onRequest('summary', () => ({ count, sha256: sum.copy().digest('hex') }))
    c.onError((e) => say(`EXCEPTION ${e}`))
    c.listen()
  })
  srv.listen(0, '127.0.0.1', () => say(`LISTEN jsonrpc ${srv.address().port}\nREADY`))
}

async function client (addr, count) {
  const [host, port] = addr.split(':')
  const socket = net.connect(Number(port), host)
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const c = connect(socket)
  c.listen()
  const sum = createHash('sha256')
  let notes = 0
  const pending = []
  for (let i = 0; i < count; i++) {
    const s = text(size())
    if (i % 2 === 0) {
      pending.push(c.sendRequest('echo', { i, s }).then((r) => {
        if (r.i !== i || r.s !== s) throw new Error(`echo ${i} differs`)
      }))
    } else {
      await c.sendNotification('note', { s })
      sum.update(Buffer.from(s, 'utf8'))
      notes++
    }
    if (pending.length >= 256) { await Promise.all(pending); pending.length = 0 }
  }
  await Promise.all(pending)
  const r = await c.sendRequest('summary')
  const want = sum.digest('hex')
  if (r.count !== notes || r.sha256 !== want) throw new Error(`summary ${JSON.stringify(r)}, sent ${notes} notes ${want}`)
  say(`DONE ${count}`)
  c.dispose()
  socket.end()
}

process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
if (process.argv[2] === 'server') server()
else client(process.argv[3], Number(process.argv[4])).catch((e) => { say(`FAIL ${e.message}`); process.exit(1) })
