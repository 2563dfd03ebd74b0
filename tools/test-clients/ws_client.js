// The Node `ws` client (pinned in ../test-servers/package.json), driven the way the library's
// own Autobahn client driver drives a fuzzingserver (ws's test/autobahn.js): the case count,
// then each case in turn, echoing every message with its type, the next case starting on
// `close`; then the reports. Agent "ws".
//
// Usage: node ws_client.js ws://127.0.0.1:PORT   (as `wsconform serve --exec`'s {url})
'use strict';

const path = require('path');
const WebSocket = require(path.join(process.env.WS_NODE_MODULES || 'node_modules', 'ws'));

const server = process.argv[2];
const agent = 'ws';
let total = 0;
let current = 1;

function runCase() {
  if (current > total) {
    new WebSocket(`${server}/updateReports?agent=${agent}`).on('error', () => {});
    return;
  }
  const ws = new WebSocket(`${server}/runCase?case=${current}&agent=${agent}`);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', () => {
    current += 1;
    process.nextTick(runCase);
  });
  // A failed handshake or a protocol error: `close` follows.
  ws.on('error', () => {});
}

const count = new WebSocket(`${server}/getCaseCount`);
count.on('message', (data) => {
  total = parseInt(data, 10);
});
count.on('close', () => {
  if (total > 0) runCase();
});
count.on('error', (e) => console.error(`getCaseCount: ${e.message}`));
