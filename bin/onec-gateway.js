#!/usr/bin/env node
'use strict';
// Launcher: TypeScript sources run through tsx's CommonJS loader.
require('tsx/cjs');
const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'sandbox') {
  // The sandbox wires the gateway to the emulators that live with the tests.
  require('../test/sandbox/main.ts').main(rest);
} else if (cmd === 'exchange-test') {
  require('../test/emulators/onec-exchange/cli.ts').main(rest);
} else {
  require('../gateway/cli.ts').main([cmd, ...rest].filter((a) => a !== undefined));
}
