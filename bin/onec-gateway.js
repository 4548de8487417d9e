#!/usr/bin/env node
'use strict';
// Launcher: TypeScript sources run through tsx's CommonJS loader.
require('tsx/cjs');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'sandbox') {
  // The sandbox wires the gateway to the emulated banks, 1C and registers, which live with the tests:
  // a checkout of the repository has them, an installation of the gateway alone (the Docker image) does not.
  const sandbox = join(__dirname, '../test/sandbox/main.ts');
  if (!existsSync(sandbox)) {
    process.stderr.write(
      'onec-gateway: the sandbox is not part of this installation: its emulated banks, 1C and registers live in the\n' +
        "repository's test/ folder, which the Docker image does not ship. Run it from a checkout of the repository:\n" +
        '  git clone … && npm ci && npm run sandbox\n',
    );
    process.exit(2);
  }
  require(sandbox).main(rest);
} else {
  require('../gateway/cli/index.ts').main([cmd, ...rest].filter((a) => a !== undefined));
}
