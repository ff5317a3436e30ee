import { beginSso, ssoCallback, type AuthDeps } from '../auth/index.js';
import { browseToCallback } from './oidc-idp.js';

/**
 * The device opens its one-time browser link in its own browser (S1): returns that browser's way to
 * the IdP and the cookie the link set.
 */
export async function openSsoLink(deps: AuthDeps, start: { ssoId: string; beginSecret: string }, address: string) {
  const b = await beginSso(deps, start.ssoId, start.beginSecret, address);
  return { authorizationUrl: b.authorizationUrl, cookies: { [b.cookie.name]: b.cookie.value } };
}

/** The whole browser leg in the device's own browser; returns the callback URL and that browser's cookies. */
export async function ssoBrowserLeg(
  deps: AuthDeps,
  start: { ssoId: string; beginSecret: string },
  address: string,
  redirectUri: string,
) {
  const link = await openSsoLink(deps, start, address);
  return { callback: await browseToCallback(link.authorizationUrl, redirectUri), cookies: link.cookies };
}

/** Runs the browser leg and the callback, as the device's own browser would. */
export async function finishSsoInBrowser(
  deps: AuthDeps,
  start: { ssoId: string; beginSecret: string },
  address: string,
  redirectUri: string,
) {
  const leg = await ssoBrowserLeg(deps, start, address, redirectUri);
  return ssoCallback(deps, leg.callback, leg.cookies, address);
}
