/**
 * The import boundaries of DESIGN.md, checked by `npm run lint:imports` (part of `npm test`).
 * A violation names its rule; the comment of each rule says why it exists.
 */
const OURS = '^(gateway|connectors|schemas|mappings|test|bench|bin)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles, type-only imports included: a cycle means two rooms that cannot be understood apart.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-imports-only-domain',
      severity: 'error',
      comment: 'gateway/domain is pure code (money, orders, the payment state machine, receipts): it imports nothing of ours but domain.',
      from: { path: '^gateway/domain/' },
      to: { path: OURS, pathNot: '^gateway/domain/' },
    },
    {
      name: 'ports-import-only-domain',
      severity: 'error',
      comment: 'gateway/ports.ts is the interfaces connectors implement; it may name domain types and nothing else of ours.',
      from: { path: '^gateway/ports\\.ts$' },
      to: { path: OURS, pathNot: '^gateway/domain/' },
    },
    {
      name: 'connector-imports-ports-domain-shared-own',
      severity: 'error',
      comment:
        'A connector imports only gateway/ports.ts, gateway/domain, connectors/shared and its own files: the rest of the gateway reaches it through the ports, and connectors do not lean on each other.',
      from: { path: '^connectors/([^/]+)/' },
      to: { path: OURS, pathNot: ['^gateway/ports\\.ts$', '^gateway/domain/', '^connectors/shared/', '^connectors/$1/'] },
    },
    {
      name: 'flows-reach-connectors-through-ports',
      severity: 'error',
      comment:
        'Flows and the HTTP layer use outside systems through gateway/ports.ts; only main.ts and the config wire connectors. The one exception is the CommerceML format (connectors/commerceml), which the exchange flow reads and writes itself.',
      from: { path: '^gateway/(flows|http|store|jobs|domain)/' },
      to: { path: '^connectors/', pathNot: '^connectors/commerceml/(reader|writer|types)\\.ts$' },
    },
    {
      name: 'layers-point-inwards',
      severity: 'error',
      comment: 'http -> flows -> domain: flows do not know the HTTP layer; store and jobs know neither.',
      from: { path: '^gateway/(flows|store|jobs)/' },
      to: { path: '^gateway/(http|main\\.ts|cli/)' },
    },
    {
      name: 'store-and-jobs-below-flows',
      severity: 'error',
      comment: 'The store and the job runners are used by flows, never the other way round.',
      from: { path: '^gateway/(store|jobs)/' },
      to: { path: '^gateway/flows/' },
    },
    {
      name: 'nothing-imports-test',
      severity: 'error',
      comment:
        'What ships (gateway, connectors, schemas, mappings, bin) never imports test/: the Docker image does not copy it. Benchmarks may use the emulators.',
      from: { path: '^(gateway|connectors|schemas|mappings|bin)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a broken build.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports count: a cycle through a type is still a cycle of understanding
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
