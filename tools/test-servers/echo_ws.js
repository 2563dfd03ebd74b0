// Echo server on Node `ws` (pinned in package.json), for the wsconform tests.
//
// Usage: node echo_ws.js [PORT] [--default-limit]   (0 or nothing: a free port)
//
// --default-limit: ws's own default message limit (100 MiB) instead of 64 MiB, for
// scripts/bench-limit.sh.
//
// Prints "LISTENING <port>" on stdout once it accepts connections, then echoes every message
// (text as text, binary as binary) until it is killed. Settings follow ws's own Autobahn
// server (test/autobahn-server.js): permessage-deflate on, with ws's default options.
// As an application would, it serves one path (`/`; others get 404), refuses the Origin
// http://forbidden.example (403) and supports the subprotocol `chat` (the section 0 cases'
// --param values).
'use strict';

const path = require('path');
const { WebSocketServer } = require(path.join(process.env.WS_NODE_MODULES || 'node_modules', 'ws'));

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: true,
  maxPayload: process.argv.includes('--default-limit') ? 100 * 1024 * 1024 : 64 * 1024 * 1024,
  handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
  verifyClient: (info, done) => {
    // The path of an origin-form or absolute-form target (RFC 9112 §3.2).
    let path;
    try {
      path = new URL(info.req.url, 'http://localhost').pathname;
    } catch {
      return done(false, 400);
    }
    if (path !== '/') return done(false, 404);
    if (info.origin === 'http://forbidden.example') return done(false, 403);
    return done(true);
  },
});

wss.on('listening', () => {
  process.stdout.write(`LISTENING ${wss.address().port}\n`);
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
