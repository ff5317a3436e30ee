import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata } from 'oidc-provider';

/** Who the test IdP logs in next, and with which authentication methods. */
export interface IdpLogin {
  sub: string;
  claims: Record<string, unknown>;
  amr?: string[];
  acr?: string;
}

/**
 * A real OpenID Connect provider (oidc-provider) in the test process, with an interaction endpoint
 * that logs in whoever `next` names (standing in for the IdP's own login page).
 */
export async function startTestIdp(redirectUri: string) {
  const state: { next?: IdpLogin } = {};
  const holder: { provider?: Provider } = {};
  const server: Server = createServer((req, res) => {
    const provider = holder.provider as Provider;
    if (req.url?.startsWith('/interaction/')) {
      void (async () => {
        const details = await provider.interactionDetails(req, res);
        const who = state.next as IdpLogin;
        if (details.prompt.name === 'login') {
          await provider.interactionFinished(
            req,
            res,
            {
              login: { accountId: who.sub, ...(who.amr ? { amr: who.amr } : {}), ...(who.acr ? { acr: who.acr } : {}) },
            },
            { mergeWithLastSubmission: false },
          );
        } else {
          const grant = new provider.Grant({
            accountId: details.session?.accountId as string,
            clientId: details.params.client_id as string,
          });
          grant.addOIDCScope(String(details.params.scope));
          await provider.interactionFinished(
            req,
            res,
            { consent: { grantId: await grant.save() } },
            { mergeWithLastSubmission: true },
          );
        }
      })().catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    void provider.callback()(req, res); // Koa answers its own errors
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = ['palisade', 'other-app'].map((id): ClientMetadata => ({
    client_id: id,
    client_secret: `${id}-secret-0123456789abcdef`,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }));
  holder.provider = new Provider(issuer, {
    clients,
    findAccount(_ctx, sub) {
      return { accountId: sub, claims: () => ({ sub, ...(state.next?.sub === sub ? state.next.claims : {}) }) };
    },
    claims: {
      openid: ['sub', 'acr', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name', 'groups'],
    },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['palisade-test-idp-cookie-key'] },
    pkce: { required: () => true },
    acrValues: ['urn:palisade:mfa', 'urn:palisade:pwd'],
  });
  return { issuer, state, clients, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * A minimal browser for tests: one cookie jar per origin (so the Palisade server's and the IdP's cookies
 * stay apart, as in a real browser), redirects followed by hand, and the server's CA for HTTPS.
 */
export class TestBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  constructor(private readonly ca?: string) {}

  /** One GET with this browser's cookies for that origin; stores the cookies it sets. */
  get(href: string): Promise<{
    status: number;
    location: string | undefined;
    body: string;
    headers: Record<string, string | string[] | undefined>;
  }> {
    const url = new URL(href);
    const jar = this.jars.get(url.origin) ?? new Map<string, string>();
    this.jars.set(url.origin, jar);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      send(url, { method: 'GET', headers: cookie ? { cookie } : {}, ...(this.ca ? { ca: this.ca } : {}) }, (res) => {
        for (const c of res.headers['set-cookie'] ?? []) {
          const [pair] = c.split(';');
          const i = (pair ?? '').indexOf('=');
          if (i > 0) jar.set((pair ?? '').slice(0, i), (pair ?? '').slice(i + 1));
        }
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, location: res.headers.location, body, headers: res.headers }),
        );
      })
        .on('error', reject)
        .end();
    });
  }

  /** Follows redirects from `href` until one points at `stopAt`, and returns that URL without opening it. */
  async browseTo(href: string, stopAt: string): Promise<URL> {
    let url = href;
    for (let hop = 0; hop < 10; hop++) {
      const res = await this.get(url);
      if (!res.location) throw new Error(`browser stopped at ${url} with ${res.status}: ${res.body.slice(0, 300)}`);
      const next = new URL(res.location, url);
      if (next.href.startsWith(stopAt)) return next;
      url = next.href;
    }
    throw new Error('too many redirects');
  }
}

/** Follows the IdP's redirects like a browser (keeping cookies) until it redirects to `redirectUri`. */
export function browseToCallback(
  authorizationUrl: string,
  redirectUri: string,
  browser = new TestBrowser(),
): Promise<URL> {
  return browser.browseTo(authorizationUrl, redirectUri);
}
