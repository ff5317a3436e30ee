import * as oidc from 'openid-client';

/** How Palisade reaches one OpenID Connect provider. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: string[];
}

/** What one authorization request must remember until the callback. */
export interface OidcRequestSecrets {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Verified ID-token claims (issuer, audience, nonce, expiry and signature already checked). */
export type OidcClaims = Record<string, unknown> & { iss: string; sub: string; aud: string | string[] };

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}

/**
 * An OpenID Connect relying party (openid-client): authorization code flow with PKCE (S256), state and
 * nonce. SECURITY: plain-HTTP issuers are accepted only on the loopback interface (tests).
 */
export class OidcRelyingParty {
  private config: Promise<oidc.Configuration> | undefined;

  constructor(private readonly settings: OidcSettings) {}

  private discover(): Promise<oidc.Configuration> {
    const issuer = new URL(this.settings.issuer);
    const insecure = issuer.protocol === 'http:' && isLoopback(issuer);
    this.config ??= oidc
      .discovery(
        issuer,
        this.settings.clientId,
        undefined,
        oidc.ClientSecretBasic(this.settings.clientSecret),
        insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((e: unknown) => {
        this.config = undefined;
        throw e;
      });
    return this.config;
  }

  /** A fresh authorization URL and the secrets to keep (server side) until the callback. */
  async start(): Promise<{ url: string; secrets: OidcRequestSecrets }> {
    const secrets = OidcRelyingParty.newSecrets();
    return { url: await this.authorizationUrl(secrets), secrets };
  }

  /** Fresh state, nonce and PKCE verifier for one authorization request. */
  static newSecrets(): OidcRequestSecrets {
    return { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
  }

  /** The authorization URL for secrets made earlier by `newSecrets` (built only when a browser asks for it). */
  async authorizationUrl(secrets: OidcRequestSecrets): Promise<string> {
    const config = await this.discover();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUri,
      scope: this.settings.scopes.join(' '),
      response_type: 'code',
      state: secrets.state,
      nonce: secrets.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(secrets.codeVerifier),
      code_challenge_method: 'S256',
    });
    return url.href;
  }

  /** Exchanges the code from the callback URL and returns the verified ID-token claims. */
  async finish(callbackUrl: URL, secrets: OidcRequestSecrets): Promise<OidcClaims> {
    const config = await this.discover();
    const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: secrets.codeVerifier,
      expectedState: secrets.state,
      expectedNonce: secrets.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('no ID token');
    return claims;
  }
}
