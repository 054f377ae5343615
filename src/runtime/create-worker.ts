import { InferenceClient, type PortLike } from './client';

/** Starts the inference worker (a module worker bundled by Vite) and returns its typed client. */
export function startInferenceWorker(opts: { decoderWorkers?: boolean } = {}): InferenceClient {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'inference' });
  // Decoder workers run the same entry with a one-thread runtime (see client.ts).
  const decoderWorker = (): PortLike =>
    new Worker(new URL('./worker.ts', import.meta.url), {
      type: 'module',
      name: 'decoder',
    }) as unknown as PortLike;
  return new InferenceClient(
    worker as unknown as PortLike,
    opts.decoderWorkers === false ? {} : { decoderWorker },
  );
}
