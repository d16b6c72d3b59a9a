// The machine's physical limit for Tessera's hot path: RS256 signatures per second, on one core
// and on all of them (worker threads), with the same key size Tessera uses.
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

function signFor(ms: number, pem: string): number {
  // Parsed once, as a server holds its key: parsing the PEM on every call would halve the rate.
  const key = createPrivateKey(pem);
  const payload = Buffer.from(JSON.stringify({ iss: 'x', sub: 'y', aud: 'z', exp: 0, jti: 'j'.repeat(43) }));
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) {
    sign('sha256', payload, key);
    n++;
  }
  return n;
}

if (!isMainThread) {
  parentPort!.postMessage(signFor(workerData.ms, workerData.pem));
}

export async function measureSignRate(ms = 3000): Promise<{ oneCore: number; allCores: number; cores: number }> {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'pem',
    type: 'pkcs8',
  }) as string;
  const oneCore = signFor(ms, pem) / (ms / 1000);
  const cores = availableParallelism();
  const counts = await Promise.all(
    Array.from(
      { length: cores },
      () =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: { ms, pem } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  return { oneCore: Math.round(oneCore), allCores: Math.round(counts.reduce((a, b) => a + b, 0) / (ms / 1000)), cores };
}
