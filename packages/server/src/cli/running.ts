import { existsSync } from 'node:fs';
import { request } from 'node:http';

/** True when a server answers on the admin socket (offline key and restore commands must not run then). */
export function serverRunning(socket: string): Promise<boolean> {
  if (!existsSync(socket)) return Promise.resolve(false);
  return new Promise((res) => {
    const req = request({ socketPath: socket, method: 'GET', path: '/status' }, (r) => {
      r.resume();
      res(true);
    });
    req.on('error', () => res(false));
    req.end();
  });
}
