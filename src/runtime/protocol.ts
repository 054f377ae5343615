/**
 * Messages between the main thread and the inference worker. Everything here survives structured
 * clone; large buffers travel as transferables.
 */
import type { Rgb8Image } from '../core/image/types';
import type { ModelFrame } from '../core/geometry';
import type { DecodedSet } from '../core/models/adapters';
import type { ContractId } from '../core/models/contracts';
import type { PromptSet } from '../core/prompts/types';
import type { TensorData } from '../core/tensor';
import type { BridgeMessage, RequestEnvelope as BridgeRequestEnvelope, ResponseEnvelope } from './bridge';

export type Provider = 'wasm' | 'webgpu';

export interface ModelBytes {
  readonly bytes: Uint8Array;
  /** External weight files by the name the graph references (e.g. `vision_encoder.onnx_data`). */
  readonly externalData?: readonly { readonly path: string; readonly data: Uint8Array }[];
}

export interface InitRequest {
  readonly kind: 'init';
  readonly threads: number;
  readonly wasmPaths?: { readonly mjs: string; readonly wasm: string };
  readonly cacheBudgetBytes?: number;
}
export interface LoadRequest {
  readonly kind: 'load';
  /** A model slot, e.g. 'sam' or 'sam2'; loading into a slot replaces what was there. */
  readonly slot: string;
  readonly modelId: string;
  readonly encoder: ModelBytes;
  readonly decoder: ModelBytes;
  readonly provider: Provider;
  readonly embeddingsOnGpu?: boolean;
}
export interface UnloadRequest {
  readonly kind: 'unload';
  readonly slot: string;
}
export interface EncodeRequest {
  readonly kind: 'encode';
  readonly slot: string;
  /** Identifies the slice content: image hash, slice index and intensity window. */
  readonly key: string;
  readonly image: Rgb8Image;
}
export interface DecodeRequest {
  readonly kind: 'decode';
  readonly slot: string;
  readonly key: string;
  readonly prompts: readonly PromptSet[];
  readonly maskInputs?: readonly (Float32Array | undefined)[];
  /** Return the 256² logits (for iterative refinement); off in batch runs. */
  readonly keepLowRes?: boolean;
}
export interface CacheStatsRequest {
  readonly kind: 'cache-stats';
}
export interface ClearCacheRequest {
  readonly kind: 'clear-cache';
}
export interface DebugLoseGpuRequest {
  readonly kind: 'debug-lose-gpu';
}
/**
 * To a decoder worker (a one-thread runtime of its own): load a slot's decoder alone. Embeddings for it
 * arrive on `embeddings` from the inference worker, which encodes.
 */
export interface LoadDecoderRequest {
  readonly kind: 'load-decoder';
  readonly slot: string;
  readonly modelId: string;
  readonly contract: ContractId;
  readonly decoder: ModelBytes;
  readonly embeddings: MessagePort;
}
/** To the inference worker: send a copy of every CPU embedding of `slot` to this port (a decoder worker). */
export interface ConnectDecoderRequest {
  readonly kind: 'connect-decoder';
  readonly slot: string;
  readonly port: MessagePort;
}
/** What travels on a decoder port: one slice's encoder outputs, copied off the encoder's runtime. */
export interface EmbeddingMessage {
  readonly key: string;
  readonly contract: ContractId;
  readonly frame: ModelFrame;
  readonly bytes: number;
  readonly tensors: Readonly<Record<string, TensorData>>;
}

export type WorkerRequest =
  | InitRequest
  | LoadRequest
  | UnloadRequest
  | EncodeRequest
  | DecodeRequest
  | CacheStatsRequest
  | ClearCacheRequest
  | DebugLoseGpuRequest
  | LoadDecoderRequest
  | ConnectDecoderRequest;

export interface InitResult {
  readonly threads: number;
  readonly crossOriginIsolated: boolean;
}
export interface LoadResult {
  readonly slot: string;
  readonly modelId: string;
  readonly contract: ContractId;
  readonly provider: Provider;
  readonly threads: number;
  readonly createMs: number;
  readonly encoderInputs: readonly string[];
  readonly decoderInputs: readonly string[];
}
export interface LoadDecoderResult {
  readonly slot: string;
  readonly threads: number;
  readonly createMs: number;
}
export interface EncodeResult {
  readonly key: string;
  readonly cached: boolean;
  readonly encodeMs: number;
  readonly preprocessMs: number;
  readonly embeddingBytes: number;
  readonly provider: Provider;
}
/** A decoded set as it crosses the worker boundary: core's one DecodedSet, low-res logits only when asked. */
export type DecodedSetOut = Omit<DecodedSet, 'lowRes'> & Partial<Pick<DecodedSet, 'lowRes'>>;
export interface DecodeResult {
  readonly key: string;
  readonly sets: readonly DecodedSetOut[];
  readonly decodeMs: number;
  /** Outputs to masks at the slice size, in the worker, after the run. */
  readonly postprocessMs: number;
  readonly calls: number;
  readonly provider: Provider;
  /** Threads of the runtime that decoded: 1 in a decoder worker, the inference worker's otherwise. */
  readonly threads: number;
  /** Which worker decoded: the slot's decoder worker, or the inference worker itself. */
  readonly worker: 'decoder' | 'inference';
}
export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly budgetBytes: number;
  readonly evictions: number;
  readonly hits: number;
  readonly misses: number;
}

export interface ResultMap {
  init: InitResult;
  load: LoadResult;
  unload: null;
  encode: EncodeResult;
  decode: DecodeResult;
  'cache-stats': CacheStats;
  'clear-cache': null;
  'debug-lose-gpu': null;
  'load-decoder': LoadDecoderResult;
  'connect-decoder': null;
}

/** The envelopes are the worker bridge's (bridge.ts), with this worker's requests and events. */
export type RequestEnvelope = BridgeRequestEnvelope<WorkerRequest>;
export type { ResponseEnvelope };

export type WorkerEvent =
  | { readonly event: 'gpu-lost'; readonly message: string; readonly reason: string }
  | { readonly event: 'log'; readonly level: 'info' | 'warn'; readonly message: string };

export type WorkerMessage = BridgeMessage<WorkerEvent>;
