import { describe, expect, it } from 'vitest';
import { Cidr, ConfigError, ConfigSchema, loadConfig } from './index.js';

const issues = (raw: unknown) => {
  const r = ConfigSchema.safeParse(raw);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
};

describe('config: metrics', () => {
  it('defaults to enabled on 127.0.0.1:9464 with no token', () => {
    expect(loadConfig().metrics).toEqual({ enabled: true, host: '127.0.0.1', port: 9464 });
  });

  it('refuses a non-loopback host without a token, and says what to set', () => {
    for (const host of ['0.0.0.0', '192.0.2.10', '::', 'metrics.example.org']) {
      expect(issues({ metrics: { host } }), host).toEqual([
        {
          path: 'metrics.token',
          message: expect.stringMatching(/not loopback: set metrics\.token to a secret:\/\/ reference/),
        },
      ]);
    }
    expect(issues({ metrics: { host: '0.0.0.0', token: 'secret://env/METRICS_TOKEN' } })).toEqual([]);
    expect(issues({ metrics: { host: '0.0.0.0', enabled: false } })).toEqual([]);
    for (const host of ['localhost', '127.0.0.2', '::1']) expect(issues({ metrics: { host } }), host).toEqual([]);
  });

  it('takes the token only as a secret:// reference, and a port in range (0 picks a free one)', () => {
    expect(issues({ metrics: { token: 'plain-token-in-the-file' } }).map((i) => i.path)).toEqual(['metrics.token']);
    expect(issues({ metrics: { port: 65536 } }).map((i) => i.path)).toEqual(['metrics.port']);
    expect(issues({ metrics: { port: 0 } })).toEqual([]);
    expect(issues({ metrics: { scrape: true } }).map((i) => i.path)).toEqual(['metrics']);
  });

  it('reads PALISADE_METRICS_* from the environment', () => {
    const c = loadConfig({
      env: {
        PALISADE_METRICS_ENABLED: 'false',
        PALISADE_METRICS_PORT: '0',
        PALISADE_METRICS_HOST: '::1',
        PALISADE_METRICS_TOKEN: 'secret://env/T',
      },
    });
    expect(c.metrics).toEqual({ enabled: false, host: '::1', port: 0, token: 'secret://env/T' });
    expect(() => loadConfig({ env: { PALISADE_METRICS_HOST: '0.0.0.0' } })).toThrow(ConfigError);
  });
});

describe('config: server.trustProxy', () => {
  it('is empty by default (X-Forwarded-For is never believed)', () => {
    expect(loadConfig().server.trustProxy).toEqual([]);
  });

  it('takes addresses and CIDR blocks, from YAML or PALISADE_TRUST_PROXY', () => {
    expect(
      issues({ server: { trustProxy: ['10.0.0.5', '10.0.0.0/8', 'fd00::/8', '::1', '::ffff:10.0.0.0/104'] } }),
    ).toEqual([]);
    expect(loadConfig({ env: { PALISADE_TRUST_PROXY: '127.0.0.1, 10.1.0.0/16' } }).server.trustProxy).toEqual([
      '127.0.0.1',
      '10.1.0.0/16',
    ]);
  });

  it('refuses true, /0 blocks, bad prefixes and names, each with its index', () => {
    expect(issues({ server: { trustProxy: true } }).map((i) => i.path)).toEqual(['server.trustProxy']);
    const bad = [
      '0.0.0.0/0',
      '::/0',
      '10.0.0.0/33',
      'fd00::/129',
      'proxy.local',
      '10.0.0.0/8/1',
      '10.0.0.0/',
      '10.0.0.0/08x',
    ];
    expect(issues({ server: { trustProxy: bad } }).map((i) => i.path)).toEqual(
      bad.map((_, n) => `server.trustProxy.${n}`),
    );
    expect(Cidr.safeParse('0.0.0.0/0').error?.issues[0]?.message).toMatch(/a \/0 block would trust everyone/);
  });
});
