// What the crash test's writer commits, shared by the writer and the test that checks the survivor.
const te = new TextEncoder();
export const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
export const GROUPS = ['group/0', 'group/1', 'group/2', 'group/3'];

/** Value of `key` in batch `n`: a self-describing prefix, then filler of a size that varies with n. */
export function value(n, key) {
  const size = ((n * 7919 + key.length * 104729) % 64) * 4096 + (n % 13);
  const head = te.encode(`${n}|${key}|${size}|`);
  const out = new Uint8Array(head.length + size).fill(n & 0xff);
  out.set(head);
  return out;
}

/** Batch n: every key set to its batch-n value, and the previous KeyPackage deleted. */
export function batch(n) {
  return [
    ['gen', te.encode(String(n))],
    ...GROUPS.map((k) => [k, value(n, k)]),
    [`kp/${n}`, value(n, `kp/${n}`)],
    [`kp/${n - 1}`, undefined],
  ];
}

/** Rekey n's target protection. */
export function rekeyTarget(n) {
  return n % 3 === 0 ? {} : { passphrase: `pass-${n}` };
}
