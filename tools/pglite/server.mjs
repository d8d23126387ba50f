// PGlite (PostgreSQL compiled to WebAssembly, with pgvector) on a loopback TCP port, for Omnivec's PostgreSQL tests.
//
//   node server.mjs --data <dir> [--port 0] [--password secret] [--no-vector]
//
// Prints "listening <port>" on stdout once it accepts connections; stops on SIGTERM/SIGINT or when stdin closes
// (so a test process that dies never leaves it running).
//
// PGlite is ONE single-user backend. Stock pglite-socket lets several connections share that one session, so their
// SET, prepared statements and COPY state collide. This wrapper keeps each connection honest:
//   * a connection gets the backend exclusively from its first message until a ReadyForQuery says "idle": a
//     transaction runs to its end before any other connection's statement (transactions run one at a time; many
//     connections may be open and wait their turn);
//   * prepared statement and portal names are prefixed per connection, so two Npgsql Prepare() calls do not clash;
//   * COPY FROM STDIN is buffered: the client gets the CopyInResponse, its data is collected until CopyDone, then
//     the statement and its data go to PGlite in one piece (PGlite cannot wait for more input mid-statement);
//   * with --password, clients must send it (cleartext password auth), so a wrong password fails as on a server.
import net from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const dataDir = option('--data', undefined);
const port = Number(option('--port', '0'));
const password = option('--password', undefined);
const withVector = !args.includes('--no-vector');

const db = await PGlite.create(dataDir, withVector ? { extensions: { vector } } : {});

// ---- the backend lock: one connection at a time until it is idle again -------------------------------------------
let owner = null;
let waiters = [];
async function acquire(conn) {
  while (owner !== null && owner !== conn) {
    await new Promise((resolve) => waiters.push(resolve));
  }
  owner = conn;
}
function release(conn) {
  if (owner !== conn) return;
  owner = null;
  const wake = waiters;
  waiters = [];
  for (const resolve of wake) resolve();
}

// ---- protocol helpers ---------------------------------------------------------------------------------------------
function message(type, body) {
  const b = Buffer.alloc(5 + body.length);
  b.write(type, 0, 'latin1');
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}
const cstr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const query = (sql) => message('Q', cstr(sql));
const SYNC = message('S', Buffer.alloc(0));

function errorResponse(code, text, severity = 'ERROR') {
  return message('E', Buffer.concat([
    Buffer.from('S'), cstr(severity), Buffer.from('V'), cstr(severity), Buffer.from('C'), cstr(code), Buffer.from('M'), cstr(text), Buffer.from([0]),
  ]));
}

/** Splits backend output into messages: [{type, start, end}]. */
function backendMessages(out) {
  const list = [];
  for (let i = 0; i + 5 <= out.length;) {
    const len = out.readInt32BE(i + 1);
    list.push({ type: String.fromCharCode(out[i]), start: i, end: i + 1 + len });
    i += 1 + len;
  }
  return list;
}

/** Reads a NUL-terminated string at offset; returns [string, offset after the NUL]. */
function readCstr(buf, offset) {
  const end = buf.indexOf(0, offset);
  return [buf.toString('utf8', offset, end), end + 1];
}

/** Rewrites statement/portal names in Parse, Bind, Describe, Close and Execute so they are private to a connection. */
function renameNames(conn, type, msg) {
  const p = (name) => (name === '' ? '' : `${conn.prefix}${name}`);
  const body = msg.subarray(5);
  let parts;
  switch (type) {
    case 'P': { // Parse: statement, query, rest
      const [name, o1] = readCstr(body, 0);
      if (name !== '') conn.statements.add(p(name));
      parts = [cstr(p(name)), body.subarray(o1)];
      break;
    }
    case 'B': { // Bind: portal, statement, rest
      const [portal, o1] = readCstr(body, 0);
      const [stmt, o2] = readCstr(body, o1);
      parts = [cstr(p(portal)), cstr(p(stmt)), body.subarray(o2)];
      break;
    }
    case 'D': case 'C': { // Describe/Close: 'S'|'P', name
      const kind = body.subarray(0, 1);
      const [name] = readCstr(body, 1);
      if (type === 'C' && kind.toString() === 'S') conn.statements.delete(p(name));
      parts = [kind, cstr(p(name))];
      break;
    }
    case 'E': { // Execute: portal, max rows
      const [portal, o1] = readCstr(body, 0);
      parts = [cstr(p(portal)), body.subarray(o1)];
      break;
    }
    default:
      return msg;
  }
  return message(type, Buffer.concat(parts));
}

// ---- connections --------------------------------------------------------------------------------------------------
let nextId = 1;
const connections = new Set();

class Connection {
  constructor(socket) {
    this.socket = socket;
    this.id = nextId++;
    this.prefix = `c${this.id}_`;
    this.buffer = Buffer.alloc(0);
    this.started = false;    // startup message seen
    this.ready = false;      // authenticated and handed to PGlite
    this.startup = null;
    this.tx = 'I';           // last ReadyForQuery status
    this.copy = null;        // buffered COPY FROM STDIN: { query, parts }
    this.statements = new Set();
    this.chain = Promise.resolve();
    this.closed = false;
    socket.setNoDelay(true);
    socket.on('data', (data) => this.onData(data));
    socket.on('error', () => {});
    socket.on('close', () => { this.chain = this.chain.then(() => this.cleanup()); });
  }

  send(buf) {
    if (!this.closed && buf.length > 0 && this.socket.writable) this.socket.write(buf);
  }

  onData(data) {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      let msg;
      if (!this.started) {
        if (this.buffer.length < 8) return;
        const len = this.buffer.readInt32BE(0);
        if (this.buffer.length < len) return;
        msg = { type: null, buf: this.buffer.subarray(0, len) };
        this.buffer = this.buffer.subarray(len);
      } else {
        if (this.buffer.length < 5) return;
        const len = this.buffer.readInt32BE(1);
        if (this.buffer.length < 1 + len) return;
        msg = { type: String.fromCharCode(this.buffer[0]), buf: Buffer.from(this.buffer.subarray(0, 1 + len)) };
        this.buffer = this.buffer.subarray(1 + len);
      }
      if (msg.type === null) msg.buf = Buffer.from(msg.buf);
      this.handleUntyped(msg);
    }
  }

  handleUntyped(msg) {
    if (msg.type === null) {
      const code = msg.buf.readInt32BE(4);
      if (code === 80877103 || code === 80877104) { // SSL or GSS encryption request: not offered
        this.socket.write(Buffer.from('N'));
        return;
      }
      if (code === 80877102) { // CancelRequest: not supported by a single-user backend
        this.socket.end();
        return;
      }
      this.started = true;
      this.startup = msg.buf;
      if (password !== undefined) {
        const body = Buffer.alloc(4);
        body.writeInt32BE(3, 0); // AuthenticationCleartextPassword
        this.send(message('R', body));
      } else {
        this.enqueue(() => this.begin());
      }
      return;
    }
    this.enqueue(() => this.handle(msg.type, msg.buf));
  }

  enqueue(work) {
    this.chain = this.chain.then(work).catch((e) => {
      this.send(errorResponse('XX000', `pglite wrapper: ${e?.message ?? e}`, 'FATAL'));
      this.socket.destroy();
    });
  }

  async run(buf) {
    await acquire(this);
    const out = Buffer.from(await db.execProtocolRaw(buf));
    this.track(out);
    return out;
  }

  track(out) {
    for (const m of backendMessages(out)) {
      if (m.type === 'Z') this.tx = String.fromCharCode(out[m.start + 5]);
    }
    if (this.tx === 'I' && owner === this) release(this);
  }

  async begin() {
    this.ready = true;
    this.send(await this.run(this.startup));
  }

  async handle(type, buf) {
    if (!this.ready) {
      if (type !== 'p') {
        this.send(errorResponse('08P01', 'expected a password message', 'FATAL'));
        this.socket.end();
        return;
      }
      const [given] = readCstr(buf, 5);
      if (given !== password) {
        const [, , ...pairs] = [0, 0, ...this.startup.subarray(8).toString('utf8').split('\0')];
        const user = pairs[pairs.indexOf('user') + 1] ?? '';
        this.send(errorResponse('28P01', `password authentication failed for user "${user}"`, 'FATAL'));
        this.socket.end();
        return;
      }
      await this.begin();
      return;
    }

    if (this.copy) {
      if (type === 'd') { this.copy.parts.push(buf); return; }
      if (type === 'c' || type === 'f') {
        const all = Buffer.concat([this.copy.query, ...this.copy.parts, buf]);
        this.copy = null;
        const out = await this.run(all);
        // PGlite answers the statement with its own CopyInResponse first; the client already had one.
        const msgs = backendMessages(out);
        const skip = msgs.length > 0 && msgs[0].type === 'G' ? msgs[0].end : 0;
        this.send(out.subarray(skip));
        return;
      }
      return; // Flush/Sync are ignored during COPY, as by a server
    }

    if (type === 'X') {
      this.socket.end();
      return;
    }

    if (type === 'Q') {
      const [sql] = readCstr(buf, 5);
      if (/^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i.test(sql)) {
        await this.startCopy(buf);
        return;
      }
    }

    this.send(await this.run(renameNames(this, type, buf)));
  }

  /** Finds out PGlite's CopyInResponse for a COPY FROM STDIN without running it, then buffers the data. */
  async startCopy(queryMsg) {
    await acquire(this);
    const inTx = this.tx === 'T';
    if (inTx) await db.execProtocolRaw(query('SAVEPOINT omnivec_pglite_copy_probe'));
    const probe = Buffer.from(await db.execProtocolRaw(Buffer.concat([queryMsg, message('f', cstr('probe'))])));
    if (inTx) await db.execProtocolRaw(query('ROLLBACK TO SAVEPOINT omnivec_pglite_copy_probe; RELEASE SAVEPOINT omnivec_pglite_copy_probe'));
    const first = backendMessages(probe)[0];
    if (first && first.type === 'G') {
      this.copy = { query: queryMsg, parts: [] };
      this.send(probe.subarray(first.start, first.end));
      return;
    }
    // The statement fails before copying (no such table, …): run it for real so the client gets that error.
    this.send(await this.run(queryMsg));
  }

  async cleanup() {
    if (this.closed) return;
    this.closed = true;
    connections.delete(this);
    if (!this.ready) return;
    try {
      await acquire(this);
      const closes = [...this.statements].map((name) => message('C', Buffer.concat([Buffer.from('S'), cstr(name)])));
      await db.execProtocolRaw(Buffer.concat([...closes, SYNC]));
      if (this.tx !== 'I') await db.execProtocolRaw(query('ROLLBACK'));
    } finally {
      this.tx = 'I';
      release(this);
    }
  }
}

const server = net.createServer((socket) => connections.add(new Connection(socket)));
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  for (const c of connections) c.socket.destroy();
  try { await db.close(); } catch { /* already closed */ }
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
