// The fastwebsockets / uWebSockets style of Autobahn consumer, rewritten for Node: read the
// fuzzingclient report's index.json and fail when any case's verdict is outside the allowed
// set. fastwebsockets checks `behavior` only; uWebSockets also checks `behaviorClose`
// (pass --close). Used by wsconform's tests to show its Autobahn-format output works with
// the scripts projects already have.
//
// Usage: node server-test.js path/to/index.json [--close]
'use strict';

const fs = require('fs');

const [file, flag] = process.argv.slice(2);
const allowed = ['OK', 'INFORMATIONAL', 'NON-STRICT'];
const index = JSON.parse(fs.readFileSync(file, 'utf8'));
let failed = 0;
let total = 0;
for (const [agent, cases] of Object.entries(index)) {
  for (const [id, result] of Object.entries(cases)) {
    total += 1;
    const bad = !allowed.includes(result.behavior) ||
      (flag === '--close' && !allowed.includes(result.behaviorClose));
    if (bad) {
      failed += 1;
      console.log(`${agent} ${id}: ${result.behavior} / ${result.behaviorClose}`);
    }
  }
}
console.log(`${total - failed} of ${total} cases passed`);
process.exit(failed === 0 && total > 0 ? 0 : 1);
