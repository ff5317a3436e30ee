// The writer killed by file-state-store-crash.test.ts: opens a state store and commits batches until
// it is killed, printing `begin N` before batch N and `done N` once putMany(N) resolved.
// Mode `batches`: batch N sets gen=N, group/0..3 (sizes vary, up to 256 KiB) and kp/N, deletes kp/N-1.
// Mode `rekey`: rekey N moves to passphrase `pass-N`, or to a key file when N % 3 === 0.
import { FileStateStore } from '../../../dist/node/file-state-store.js';
import { batch, rekeyTarget, FAST_SCRYPT } from './state-crash-batches.mjs';

const [dir, mode, start, passphrase] = process.argv.slice(2);
const store = await FileStateStore.open(dir, { keyring: 'off', passphrase: passphrase || undefined });
const say = (line) => new Promise((resolve) => process.stdout.write(`${line}\n`, resolve));
for (let n = Number(start); ; n++) {
  await say(`begin ${n}`);
  if (mode === 'batches') await store.putMany(batch(n));
  else await store.rekey({ ...rekeyTarget(n), scrypt: FAST_SCRYPT });
  await say(`done ${n}`);
}
