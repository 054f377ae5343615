import { InferenceClient } from './client';

/** Starts the inference worker (a module worker bundled by Vite) and returns its typed client. */
export function startInferenceWorker(): InferenceClient {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'inference' });
  return new InferenceClient(worker as unknown as ConstructorParameters<typeof InferenceClient>[0]);
}
