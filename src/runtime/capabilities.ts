/**
 * What the browser offers for inference: a WebGPU adapter (and whether it can do fp16), cross-origin
 * isolation (required for wasm threads) and the core count. The UI always shows the result, and the
 * provider that will actually run is decided here, never silently.
 */
export type ProviderChoice = 'webgpu' | 'wasm';
/** The user's choice: `auto` takes WebGPU on a hardware adapter and WebAssembly otherwise. */
export type ProviderPreference = 'auto' | ProviderChoice;

export interface WebGpuInfo {
  readonly available: boolean;
  readonly adapter?: string;
  readonly isFallbackAdapter?: boolean;
  /** A software rasteriser (SwiftShader, llvmpipe…): 50–100× slower than WebAssembly for these models. */
  readonly isSoftware?: boolean;
  readonly shaderF16?: boolean;
  readonly maxBufferSize?: number;
  /** Why WebGPU is not used, in words for the user. */
  readonly reason?: string;
}

export interface Capabilities {
  readonly webgpu: WebGpuInfo;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  /** Threads onnxruntime-web's wasm backend will use. */
  readonly threads: number;
  /** The provider a session gets unless the user forces wasm. */
  readonly provider: ProviderChoice;
  readonly notices: readonly string[];
}

interface GpuAdapterLike {
  readonly features: { has: (name: string) => boolean };
  readonly limits: { readonly maxBufferSize: number };
  readonly info?: {
    readonly vendor?: string;
    readonly architecture?: string;
    readonly description?: string;
    readonly device?: string;
  };
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter: (opts?: {
    powerPreference?: 'high-performance' | 'low-power';
  }) => Promise<GpuAdapterLike | null>;
}

export interface ProbeEnv {
  readonly gpu?: GpuLike | undefined;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
}

export function currentEnv(): ProbeEnv {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike; hardwareConcurrency?: number } }).navigator;
  return {
    gpu: nav?.gpu,
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    hardwareConcurrency: Math.max(1, nav?.hardwareConcurrency ?? 1),
  };
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
}

export async function probeWebGpu(gpu: GpuLike | undefined): Promise<WebGpuInfo> {
  if (!gpu) return { available: false, reason: 'This browser exposes no WebGPU (navigator.gpu is missing).' };
  try {
    const adapter = await withTimeout(gpu.requestAdapter({ powerPreference: 'high-performance' }), 5000);
    if (adapter === 'timeout') return { available: false, reason: 'The WebGPU adapter request timed out.' };
    if (!adapter)
      return {
        available: false,
        reason: 'WebGPU is present but no adapter is available (GPU blocked or disabled).',
      };
    const i = adapter.info;
    const name = [i?.vendor, i?.architecture, i?.description || i?.device].filter((s) => s).join(' ');
    const isFallbackAdapter = adapter.isFallbackAdapter === true;
    return {
      available: true,
      adapter: name || 'unknown adapter',
      isFallbackAdapter,
      isSoftware: isFallbackAdapter || SOFTWARE_ADAPTER.test(name),
      shaderF16: adapter.features.has('shader-f16'),
      maxBufferSize: adapter.limits.maxBufferSize,
    };
  } catch (e) {
    return {
      available: false,
      reason: `Requesting a WebGPU adapter failed: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

export function threadsFor(env: Pick<ProbeEnv, 'crossOriginIsolated' | 'hardwareConcurrency'>): number {
  return env.crossOriginIsolated ? env.hardwareConcurrency : 1;
}

/** The provider that runs for a preference, and why, in words for the status bar. */
export function chooseProvider(
  webgpu: WebGpuInfo,
  pref: ProviderPreference,
): { provider: ProviderChoice; notice?: string } {
  if (pref === 'wasm')
    return webgpu.available
      ? { provider: 'wasm', notice: 'WebAssembly chosen by the user.' }
      : { provider: 'wasm' };
  if (!webgpu.available) return { provider: 'wasm' };
  if (pref === 'webgpu') {
    return webgpu.isSoftware
      ? {
          provider: 'webgpu',
          notice: 'WebGPU forced on a software adapter: expect it to be much slower than WebAssembly.',
        }
      : { provider: 'webgpu' };
  }
  if (webgpu.isSoftware) {
    return {
      provider: 'wasm',
      notice:
        'The only WebGPU adapter is a software rasteriser, so WebAssembly runs (faster here). Choose WebGPU to override.',
    };
  }
  return { provider: 'webgpu' };
}

export async function probeCapabilities(env: ProbeEnv = currentEnv()): Promise<Capabilities> {
  const webgpu = await probeWebGpu(env.gpu);
  const threads = threadsFor(env);
  const notices: string[] = [];
  if (!webgpu.available)
    notices.push(`WebGPU unavailable — running on WebAssembly (CPU). ${webgpu.reason ?? ''}`.trim());
  if (!env.crossOriginIsolated) {
    notices.push(
      'Page is not cross-origin isolated (COOP/COEP headers missing): WebAssembly runs on 1 thread.',
    );
  }
  return {
    webgpu,
    crossOriginIsolated: env.crossOriginIsolated,
    hardwareConcurrency: env.hardwareConcurrency,
    threads,
    provider: chooseProvider(webgpu, 'auto').provider,
    notices,
  };
}
