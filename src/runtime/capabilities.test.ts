import { describe, expect, it } from 'vitest';
import { chooseProvider, probeCapabilities, type ProbeEnv } from './capabilities';

const adapter = (description: string, isFallbackAdapter = false) => ({
  features: { has: (f: string) => f === 'shader-f16' },
  limits: { maxBufferSize: 1 << 30 },
  info: { vendor: 'v', architecture: 'a', description },
  isFallbackAdapter,
});
const env = (gpu: ProbeEnv['gpu'], iso = true): ProbeEnv => ({
  gpu,
  crossOriginIsolated: iso,
  hardwareConcurrency: 8,
});

describe('capability probe', () => {
  it('runs WebGPU on a hardware adapter with all threads when isolated', async () => {
    const c = await probeCapabilities(env({ requestAdapter: () => Promise.resolve(adapter('NVIDIA H100')) }));
    expect(c.provider).toBe('webgpu');
    expect(c.threads).toBe(8);
    expect(c.webgpu.shaderF16).toBe(true);
    expect(c.notices).toEqual([]);
  });

  it('falls back to WebAssembly with a notice when navigator.gpu is missing', async () => {
    const c = await probeCapabilities(env(undefined));
    expect(c.provider).toBe('wasm');
    expect(c.notices.join(' ')).toMatch(/WebGPU unavailable/);
  });

  it('falls back when no adapter is granted or the request throws', async () => {
    expect((await probeCapabilities(env({ requestAdapter: () => Promise.resolve(null) }))).provider).toBe(
      'wasm',
    );
    const c = await probeCapabilities(env({ requestAdapter: () => Promise.reject(new Error('blocked')) }));
    expect(c.webgpu.reason).toMatch(/blocked/);
  });

  it('runs one thread with a notice when the page is not cross-origin isolated', async () => {
    const c = await probeCapabilities(env(undefined, false));
    expect(c.threads).toBe(1);
    expect(c.notices.join(' ')).toMatch(/1 thread/);
  });

  it('prefers WebAssembly over a software adapter unless the user picks WebGPU', async () => {
    const c = await probeCapabilities(
      env({ requestAdapter: () => Promise.resolve(adapter('swiftshader device')) }),
    );
    expect(c.webgpu.isSoftware).toBe(true);
    expect(c.provider).toBe('wasm');
    expect(chooseProvider(c.webgpu, 'auto').notice).toMatch(/software/);
    expect(chooseProvider(c.webgpu, 'webgpu').provider).toBe('webgpu');
    expect(chooseProvider(c.webgpu, 'wasm').provider).toBe('wasm');
  });
});
