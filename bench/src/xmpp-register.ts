import { connect } from 'node:tls';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;');

/**
 * Registers `username` on an XMPP server by in-band registration (XEP-0077) over direct TLS, on a
 * stream of its own with no login. Resolves when the server answers; an existing account with that
 * name ("conflict") counts as registered. Parsing is by pattern: enough for the server's two answers.
 */
export function registerXmpp(
  o: { port: number; ca: string; domain: string },
  username: string,
  password: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: o.port, ca: o.ca, servername: o.domain, minVersion: 'TLSv1.3' });
    let buf = '';
    let sent = false;
    const done = (e?: Error) => {
      s.end('</stream:stream>');
      s.destroy();
      if (e) reject(e);
      else resolve();
    };
    s.once('secureConnect', () =>
      s.write(
        `<?xml version='1.0'?><stream:stream to='${o.domain}' xmlns='jabber:client' ` +
          `xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`,
      ),
    );
    // SECURITY: errors quote only the server's <error/> element, never the echoed password.
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (!sent && buf.includes('</stream:features>')) {
        sent = true;
        // SECURITY: the password goes only into this TLS stream, never to a log.
        s.write(
          `<iq type='set' id='reg'><query xmlns='jabber:iq:register'><username>${esc(username)}</username>` +
            `<password>${esc(password)}</password></query></iq>`,
        );
      }
      const m = /<iq[^>]*id=['"]reg['"][^>]*>/.exec(buf);
      if (!m) return;
      if (/type=['"]result['"]/.test(m[0]) || buf.includes('<conflict')) done();
      else if (/type=['"]error['"]/.test(m[0]) && buf.includes('</iq>'))
        done(new Error(`registration of ${username} refused: ${/<error[^]*?<\/error>/.exec(buf)?.[0] ?? ''}`));
    });
    s.once('error', (e: Error) => done(e));
  });
}
