/**
 * The layer rules of ../shared/ARCHITECTURE.md, checked in CI (npm run lint).
 * Layers of packages/server/src: 0 core; 1 config, crypto, store, cluster, metrics; 2 domain
 * (auth, rbac, messaging, keys, limits, audit, detect); 3 http, realtime; 4 server, cli.
 */
const S = '^packages/server/src/';
const DOMAIN = `${S}(auth|rbac|messaging|keys|limits|audit|detect)/`;
const INFRA = `${S}(config|crypto|store|cluster|metrics)/`;

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No import cycles anywhere.', from: {}, to: { circular: true } },
    {
      name: 'kernel-imports-nothing', severity: 'error', comment: 'Layer 0 (core) imports only protocol.',
      from: { path: `${S}core/` }, to: { path: `${S}(?!core/)` },
    },
    {
      name: 'infra-only-kernel', severity: 'error', comment: 'Layer 1 imports layer 0 (and store may use crypto).',
      from: { path: INFRA }, to: { path: `${S}(auth|rbac|messaging|keys|limits|audit|detect|http|realtime|server|cli)/` },
    },
    {
      name: 'infra-no-siblings', severity: 'error', comment: 'Infrastructure modules do not import each other, except store -> crypto.',
      from: { path: `${S}(config|crypto|cluster|metrics)/` }, to: { path: INFRA, pathNot: [`${S}$1/`] },
    },
    {
      name: 'store-only-crypto', severity: 'error', comment: 'store may use crypto for sealed columns, nothing else of layer 1.',
      from: { path: `${S}store/` }, to: { path: `${S}(config|cluster)/` },
    },
    {
      name: 'domain-not-transport', severity: 'error', comment: 'Rule 1: domain never imports transport, entry, fastify or ws.',
      from: { path: DOMAIN }, to: { path: [`${S}(http|realtime|server|cli)/`, '^node_modules/(fastify|ws|@fastify)/'] },
    },
    {
      name: 'transport-not-entry', severity: 'error', comment: 'Transports do not import the entry layer or each other.',
      from: { path: `${S}(http|realtime)/` }, to: { path: [`${S}(server|cli)/`] },
    },
    {
      name: 'http-not-realtime', severity: 'error', from: { path: `${S}http/` }, to: { path: `${S}realtime/` },
    },
    {
      name: 'realtime-not-http', severity: 'error', from: { path: `${S}realtime/` }, to: { path: `${S}http/` },
    },
    {
      name: 'db-drivers-only-in-store', severity: 'error', comment: 'Rule 2: only store drivers import pg / better-sqlite3.',
      from: { pathNot: `${S}store/(sqlite|postgres)/` }, to: { path: '^node_modules/(pg|better-sqlite3)/' },
    },
    {
      name: 'crypto-primitives-only-in-crypto', severity: 'error', comment: 'Rule 3: only crypto imports node:crypto, argon2, pkcs11js, x509.',
      from: { path: '^packages/', pathNot: [`${S}crypto/`, '^packages/client/'] },
      to: { path: ['^crypto$', '^node_modules/(argon2|pkcs11js|@peculiar|otpauth|@noble|@simplewebauthn|openid-client|jose)/'] },
    },
    {
      name: 'prom-client-only-in-metrics', severity: 'error', comment: 'Everyone records through the core Metrics port; only metrics/ knows Prometheus.',
      from: { pathNot: `${S}metrics/` }, to: { path: '^node_modules/prom-client/' },
    },
    {
      name: 'nats-only-in-cluster', severity: 'error', comment: 'Rule 4: only cluster imports nats.',
      from: { pathNot: `${S}cluster/` }, to: { path: '^node_modules/nats/' },
    },
    {
      name: 'through-index-only', severity: 'error', comment: 'Rule 5: modules import each other only through index.ts.',
      from: { path: `${S}([^/]+)/` },
      to: { path: `${S}(?!$1/)[^/]+/.+`, pathNot: `${S}[^/]+/index\\.ts$` },
    },
    {
      name: 'nobody-imports-detect', severity: 'error', comment: 'detect is wired by server/ only, as a bus subscriber.',
      from: { path: S, pathNot: [`${S}(detect|server)/`] }, to: { path: `${S}detect/` },
    },
    {
      name: 'protocol-no-io', severity: 'error', comment: 'protocol is pure: no Node built-ins, no other package of ours.',
      from: { path: '^packages/protocol/' }, to: { dependencyTypes: ['core'] },
    },
    {
      name: 'client-core-platform-neutral', severity: 'error', comment: 'SDK core uses no Node built-ins; adapters live in node/ and cli/.',
      from: { path: '^packages/client/src/', pathNot: '^packages/client/src/(node|cli)/' }, to: { dependencyTypes: ['core'] },
    },
    {
      name: 'packages-not-server-internals', severity: 'error', comment: 'Client and protocol never import the server.',
      from: { path: '^packages/(client|protocol)/' }, to: { path: '^packages/server/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['dist/', '\\.test\\.ts$', '/test-support/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
