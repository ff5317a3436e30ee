import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

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
          await provider.interactionFinished(req, res, { login: { accountId: who.sub, ...(who.amr ? { amr: who.amr } : {}), ...(who.acr ? { acr: who.acr } : {}) } }, { mergeWithLastSubmission: false });
        } else {
          const grant = new provider.Grant({ accountId: details.session?.accountId as string, clientId: details.params.client_id as string });
          grant.addOIDCScope(String(details.params.scope));
          await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
        }
      })().catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = ['palisade', 'other-app'].map((id) => ({
    client_id: id, client_secret: `${id}-secret-0123456789abcdef`, redirect_uris: [redirectUri],
    grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' as const,
  }));
  holder.provider = new Provider(issuer, {
    clients,
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub, ...(state.next?.sub === sub ? state.next.claims : {}) }) };
    },
    claims: { openid: ['sub', 'acr', 'amr'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name', 'groups'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['palisade-test-idp-cookie-key'] },
    pkce: { required: () => true },
    acrValues: ['urn:palisade:mfa', 'urn:palisade:pwd'],
  });
  return { issuer, state, clients, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Follows the IdP's redirects like a browser (keeping cookies) until it redirects to `redirectUri`. */
export async function browseToCallback(authorizationUrl: string, redirectUri: string): Promise<URL> {
  const cookies = new Map<string, string>();
  let url = authorizationUrl;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = (pair ?? '').indexOf('=');
      cookies.set((pair ?? '').slice(0, i), (pair ?? '').slice(i + 1));
    }
    const location = res.headers.get('location');
    if (!location) throw new Error(`IdP stopped at ${url} with ${res.status}: ${(await res.text()).slice(0, 300)}`);
    const next = new URL(location, url);
    if (next.href.startsWith(redirectUri)) return next;
    url = next.href;
  }
  throw new Error('too many redirects');
}
