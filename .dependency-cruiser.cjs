/**
 * The layer rules of docs/architecture.md, checked in CI (npm run lint).
 * Layers of packages/server/src: 0 core; 1 config, crypto, store, cluster, metrics; 2 domain
 * (auth, rbac, messaging, keys, limits, audit, detect); 3 http, realtime; 4 server, cli.
 *
 * Every path pattern accepts the prefix `test/depcruise-fixtures/`: that folder mirrors the tree with
 * one forbidden import per rule, and scripts/arch-check.mjs proves that each rule fires on it.
 * Tests (`*.test.ts`) and `test-support/` are not cruised, on purpose: test set-up may import anything.
 * Workspace packages (`@palisade/*`) resolve to their src through tsconfig.depcruise.json `paths`, so
 * the check sees them without a build; built `dist/` folders are leaves (doNotFollow), never excluded.
 */
const P = '^(?:test/depcruise-fixtures/)?';
const S = `${P}packages/server/src/`;
const DOMAIN = `${S}(auth|rbac|messaging|keys|limits|audit|detect|e2ee)/`;
const INFRA = `${S}(config|crypto|store|cluster|metrics)/`;
/** A package: resolved into node_modules, into its DefinitelyTyped types, or not resolved at all. */
const pkg = (names) => [`^node_modules/(${names})/`, `^node_modules/@types/(${names})/`, `^(${names})$`];

/**
 * The domain order: a module imports only modules of a lower rank (and detect is imported by nobody).
 * keys and limits are leaves; everyone may audit; rbac sits below auth and messaging, which are peers.
 */
const DOMAIN_ORDER = [
  {
    name: 'domain-order-leaves',
    from: '(keys|limits)',
    to: '(auth|rbac|messaging|audit|keys|limits|e2ee)',
    notSelf: true,
  },
  { name: 'domain-order-audit', from: 'audit', to: '(auth|rbac|messaging|limits|e2ee)' },
  { name: 'domain-order-rbac', from: 'rbac', to: '(auth|messaging|e2ee)' },
  { name: 'domain-order-auth-messaging', from: '(auth|messaging)', to: '(auth|messaging|e2ee)', notSelf: true },
].map((r) => ({
  name: r.name,
  severity: 'error',
  comment: 'Domain order: keys, limits < audit < rbac < auth, messaging (peers) < e2ee < detect.',
  from: { path: `${S}${r.from}/` },
  to: r.notSelf ? { path: `${S}${r.to}/`, pathNot: `${S}$1/` } : { path: `${S}${r.to}/` },
}));

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'No import cycles anywhere.', from: {}, to: { circular: true } },
    {
      name: 'no-unresolvable',
      severity: 'error',
      comment: 'Every import resolves, so no edge is invisible to the rules below.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'kernel-imports-nothing',
      severity: 'error',
      comment: 'Layer 0 (core) imports only protocol.',
      from: { path: `${S}core/` },
      to: { path: `${S}(?!core/)` },
    },
    {
      name: 'infra-only-kernel',
      severity: 'error',
      comment: 'Layer 1 imports layer 0 (and store may use crypto).',
      from: { path: INFRA },
      to: { path: `${S}(auth|rbac|messaging|keys|limits|audit|detect|e2ee|http|realtime|server|cli)/` },
    },
    {
      name: 'infra-no-siblings',
      severity: 'error',
      comment: 'Infrastructure modules do not import each other, except store -> crypto.',
      from: { path: `${S}(config|crypto|cluster|metrics)/` },
      to: { path: INFRA, pathNot: [`${S}$1/`] },
    },
    {
      name: 'store-only-crypto',
      severity: 'error',
      comment: 'store may use crypto for sealed columns, nothing else of layer 1.',
      from: { path: `${S}store/` },
      to: { path: `${S}(config|cluster)/` },
    },
    ...DOMAIN_ORDER,
    {
      name: 'domain-not-transport',
      severity: 'error',
      comment: 'Rule 1: domain never imports transport, entry, fastify or ws.',
      from: { path: DOMAIN },
      to: { path: [`${S}(http|realtime|server|cli)/`, ...pkg('fastify|ws|@fastify/[^/]+')] },
    },
    {
      name: 'transport-not-entry',
      severity: 'error',
      comment: 'Transports do not import the entry layer or each other.',
      from: { path: `${S}(http|realtime)/` },
      to: { path: [`${S}(server|cli)/`] },
    },
    {
      name: 'http-not-realtime',
      severity: 'error',
      from: { path: `${S}http/` },
      to: { path: `${S}realtime/` },
    },
    {
      name: 'realtime-not-http',
      severity: 'error',
      from: { path: `${S}realtime/` },
      to: { path: `${S}http/` },
    },
    {
      name: 'db-drivers-only-in-store',
      severity: 'error',
      comment: 'Rule 2: only store drivers import pg / better-sqlite3.',
      from: { pathNot: `${S}store/(sqlite|postgres)/` },
      to: { path: pkg('pg|pg-[^/]+|better-sqlite3') },
    },
    {
      name: 'crypto-primitives-only-in-crypto',
      severity: 'error',
      comment: 'Rule 3: only crypto imports node:crypto, argon2, pkcs11js, x509.',
      from: { path: `${P}packages/`, pathNot: [`${S}crypto/`, `${P}packages/client/`] },
      to: {
        path: [
          '^(node:)?crypto$',
          ...pkg(
            'argon2|@node-rs/argon2|pkcs11js|@peculiar/[^/]+|otpauth|@noble/[^/]+|@simplewebauthn/[^/]+|openid-client|jose',
          ),
        ],
      },
    },
    {
      name: 'prom-client-only-in-metrics',
      severity: 'error',
      comment: 'Everyone records through the core Metrics port; only metrics/ knows Prometheus.',
      from: { pathNot: `${S}metrics/` },
      to: { path: pkg('prom-client') },
    },
    {
      name: 'nats-only-in-cluster',
      severity: 'error',
      comment: 'Rule 4: only cluster imports nats.',
      from: { pathNot: `${S}cluster/` },
      to: { path: pkg('nats|@nats-io/[^/]+') },
    },
    {
      name: 'through-index-only',
      severity: 'error',
      comment: 'Rule 5: modules import each other only through index.ts.',
      from: { path: `${S}([^/]+)/` },
      to: { path: `${S}(?!$1/)[^/]+/.+`, pathNot: `${S}[^/]+/index\\.ts$` },
    },
    {
      name: 'nobody-imports-detect',
      severity: 'error',
      comment: 'detect is wired by server/ only, as a bus subscriber.',
      from: { path: S, pathNot: [`${S}(detect|server)/`] },
      to: { path: `${S}detect/` },
    },
    {
      name: 'protocol-no-io',
      severity: 'error',
      comment: 'protocol is pure: no Node built-ins.',
      from: { path: `${P}packages/protocol/` },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'protocol-imports-no-package',
      severity: 'error',
      comment: 'protocol imports no other package of ours.',
      from: { path: `${P}packages/protocol/` },
      to: { path: `${P}packages/(?!protocol/)` },
    },
    {
      name: 'client-core-platform-neutral',
      severity: 'error',
      comment: 'SDK core uses no Node built-ins; adapters live in node/ and cli/.',
      from: { path: `${P}packages/client/src/`, pathNot: `${P}packages/client/src/(node|cli)/` },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'packages-not-server-internals',
      severity: 'error',
      comment: 'Client and protocol never import the server (source or built).',
      from: { path: `${P}packages/(client|protocol)/` },
      to: { path: `${P}packages/server/` },
    },
  ],
  options: {
    // Anchored: a `dist/` anywhere in a path must not hide the edge that resolves into it.
    doNotFollow: { path: ['^node_modules/', `${P}packages/[^/]+/dist/`] },
    exclude: { path: ['\\.test\\.ts$', '/test-support/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
