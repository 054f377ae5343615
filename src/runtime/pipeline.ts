import * as ort from 'onnxruntime-web';
import { AppError, toAppError } from '../core/errors';
import type { ModelFrame } from '../core/geometry';
import type { Rgb8Image } from '../core/image/types';
import {
  CONTRACTS,
  decodeOutputs,
  decoderCalls,
  detectPart,
  encoderFeeds,
  pairParts,
  type ContractId,
  type DecodedSet,
  type DetectedPart,
} from '../core/models';
import type { PromptSet } from '../core/prompts/types';
import { detectInputScaling, UNKNOWN_SCALING, type InputScaling } from '../core/models/input-scaling';
import { readOnnxHeader } from '../core/models/onnx-header';
import { elementCount, float32ToFloat16, type TensorData } from '../core/tensor';
import { downloadAll, inputSpecs, toOrt, validateFeeds, type InputSpec } from './tensors';

export type Provider = 'wasm' | 'webgpu';

export interface PipelineOptions {
  readonly provider?: Provider;
  /** Keep encoder outputs on the GPU for the decoder (WebGPU only). */
  readonly embeddingsOnGpu?: boolean;
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Encoder outputs for one slice, kept as runtime tensors (possibly GPU-resident). */
export interface Embedding {
  readonly contract: ContractId;
  readonly frame: ModelFrame;
  readonly tensors: Readonly<Record<string, ort.Tensor>>;
  readonly bytes: number;
  readonly onGpu: boolean;
}

export interface EncodeResult {
  readonly embedding: Embedding;
  /** Encoder run time (the model alone). */
  readonly encodeMs: number;
  /** Resize, normalise and pad on the CPU, before the run. */
  readonly preprocessMs: number;
}

export interface DecodeResult {
  readonly sets: DecodedSet[];
  readonly decodeMs: number;
  /** Reading the outputs and turning logits into masks at the slice size (upsampling, thresholds). */
  readonly postprocessMs: number;
  readonly calls: number;
}

export type ModelSource =
  | Uint8Array
  | ArrayBuffer
  | {
      readonly bytes: Uint8Array;
      readonly externalData?: readonly { readonly path: string; readonly data: Uint8Array }[];
    };

function sessionOptions(
  opts: PipelineOptions,
  gpuOutputs: readonly string[] | null,
): ort.InferenceSession.SessionOptions {
  const provider = opts.provider ?? 'wasm';
  return {
    executionProviders: [provider],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
    // ORT's native warnings go to console.error otherwise (stack-notes.md).
    logSeverityLevel: 3,
    ...(gpuOutputs && provider === 'webgpu'
      ? { preferredOutputLocation: Object.fromEntries(gpuOutputs.map((n) => [n, 'gpu-buffer' as const])) }
      : {}),
  };
}

async function createSession(
  src: ModelSource,
  options: ort.InferenceSession.SessionOptions,
  what: string,
): Promise<ort.InferenceSession> {
  try {
    if (src instanceof Uint8Array) return await ort.InferenceSession.create(src, options);
    if (src instanceof ArrayBuffer) return await ort.InferenceSession.create(new Uint8Array(src), options);
    return await ort.InferenceSession.create(src.bytes, {
      ...options,
      ...(src.externalData
        ? { externalData: src.externalData.map((e) => ({ path: e.path, data: e.data })) }
        : {}),
    });
  } catch (e) {
    const err = toAppError(e, 'model-integrity', `Could not load the ${what}`);
    if (err.code === 'model-integrity') {
      throw new AppError(
        'model-integrity',
        `The ${what} is not a loadable ONNX model (${err.detail ?? err.message}). Re-download it or pick another file.`,
        {
          cause: e,
          detail: err.detail ?? err.message,
        },
      );
    }
    throw err;
  }
}

function signature(s: ort.InferenceSession): {
  inputs: string[];
  outputs: string[];
  inputRanks: Record<string, number>;
} {
  const inputRanks: Record<string, number> = {};
  for (const m of s.inputMetadata) if (m.isTensor && m.shape.length) inputRanks[m.name] = m.shape.length;
  return { inputs: [...s.inputNames], outputs: [...s.outputNames], inputRanks };
}

/**
 * Every run in this JS context goes through one queue: concurrent runs of different sessions on the
 * same ONNX Runtime instance hang the WebGPU (JSEP) backend, and on a 2-core machine they only compete
 * for the same wasm threads anyway.
 */
let runQueue: Promise<unknown> = Promise.resolve();
function queued<T>(fn: () => Promise<T>): Promise<T> {
  const next = runQueue.then(fn, fn);
  runQueue = next.catch(() => undefined);
  return next;
}

/**
 * A SAM-family decoder on its own: decodes prompt sets against an embedding. Used inside a
 * {@link SamPipeline}, and alone in a decoder worker (a one-thread runtime beside the encoder's).
 * Runs are serialized per session: ORT web refuses concurrent runs on one session.
 */
export class DecoderSession {
  private chain: Promise<unknown> = Promise.resolve();
  private released = false;
  readonly inputs: readonly InputSpec[];

  constructor(
    readonly contract: ContractId,
    private readonly session: ort.InferenceSession,
  ) {
    this.inputs = inputSpecs(session);
  }

  /** Creates a decoder alone and checks it is a decoder of `contract`. */
  static async create(
    src: ModelSource,
    contract: ContractId,
    opts: PipelineOptions = {},
  ): Promise<DecoderSession> {
    const session = await createSession(src, sessionOptions(opts, null), 'decoder');
    try {
      const part = detectPart(signature(session));
      if (part.role !== 'decoder' || part.contract !== contract)
        throw new AppError(
          'model-contract',
          `Expected a ${contract} decoder; this graph is a ${part.contract} ${part.role}.`,
          { subject: 'contract' },
        );
      return new DecoderSession(contract, session);
    } catch (e) {
      await session.release().catch(() => undefined);
      throw toAppError(e, 'model-contract');
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  decode(
    embedding: Embedding,
    prompts: readonly PromptSet[],
    maskInputs?: readonly (Float32Array | undefined)[],
  ): Promise<DecodeResult> {
    return this.serial(async () => {
      if (this.released) throw new AppError('cancelled', 'This model was closed.', { subject: 'session' });
      if (embedding.contract !== this.contract) {
        throw new AppError(
          'invalid-argument',
          `Embedding from ${embedding.contract} given to a ${this.contract} decoder.`,
          { subject: 'embedding' },
        );
      }
      const calls = decoderCalls(
        this.contract,
        { prompts, frame: embedding.frame, ...(maskInputs ? { maskInputs } : {}) },
        this.session.inputNames,
      );
      const sets: DecodedSet[] = new Array<DecodedSet>(prompts.length);
      let decodeMs = 0;
      let postprocessMs = 0;
      for (const call of calls) {
        const feeds: Record<string, ort.Tensor> = { ...embedding.tensors };
        for (const [k, v] of Object.entries(call.feeds))
          feeds[k] = toOrt(conformType(v, this.inputs.find((s) => s.name === k)?.type));
        validateFeeds(this.inputs, feeds);
        const { out, ms } = await queued(async () => {
          const t0 = performance.now();
          const o = await this.session.run(feeds);
          return { out: o, ms: performance.now() - t0 };
        });
        decodeMs += ms;
        const tp = performance.now();
        const data = await downloadAll(out);
        decodeOutputs(this.contract, data, call, embedding.frame).forEach((d, j) => {
          const idx = call.setIndices[j];
          if (idx !== undefined) sets[idx] = d;
        });
        for (const v of Object.values(out)) if (v.location === 'gpu-buffer') v.dispose();
        postprocessMs += performance.now() - tp;
      }
      return { sets, decodeMs, postprocessMs, calls: calls.length };
    });
  }

  /** Runs the decoder on raw feeds after validation (diagnostics and tests of the validation path). */
  runChecked(feeds: Readonly<Record<string, ort.Tensor>>): Promise<Record<string, ort.Tensor>> {
    return this.serial(async () => {
      validateFeeds(this.inputs, feeds);
      return await queued(() => this.session.run(feeds));
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.chain;
    await this.session.release().catch(() => undefined);
  }
}

/**
 * One SAM-family model (encoder + decoder) on onnxruntime. The contract is detected from the graphs'
 * input/output names; preprocessing, feeds and output decoding come from core/models.
 * Runs are serialized per session: ORT web refuses concurrent runs on one session.
 */
export class SamPipeline {
  private encoderChain: Promise<unknown> = Promise.resolve();
  private released = false;
  readonly encoderInputs: readonly InputSpec[];
  readonly decoderInputs: readonly InputSpec[];
  private readonly decoderSession: DecoderSession;

  private constructor(
    readonly contract: ContractId,
    readonly encoderPart: DetectedPart,
    private readonly encoder: ort.InferenceSession,
    decoder: ort.InferenceSession,
    readonly provider: Provider,
    readonly createMs: number,
    /** What the encoder graph does to its input before its first layer; the feeds compensate. */
    readonly inputScaling: InputScaling,
  ) {
    this.encoderInputs = inputSpecs(encoder);
    this.decoderSession = new DecoderSession(contract, decoder);
    this.decoderInputs = this.decoderSession.inputs;
  }

  static async create(
    encoderSrc: ModelSource,
    decoderSrc: ModelSource,
    opts: PipelineOptions = {},
  ): Promise<SamPipeline> {
    const t0 = performance.now();
    const provider = opts.provider ?? 'wasm';
    // Read before the bytes go to the runtime (the encoder has one input: the image).
    const inputScaling = encoderInputScaling(encoderSrc);
    // Peek at the encoder's outputs to know which to keep on the GPU: create, detect, then decide.
    const encoder = await createSession(encoderSrc, sessionOptions(opts, null), 'encoder');
    let decoder: ort.InferenceSession;
    try {
      decoder = await createSession(decoderSrc, sessionOptions(opts, null), 'decoder');
    } catch (e) {
      await encoder.release();
      throw e;
    }
    try {
      const enc = detectPart(signature(encoder));
      const dec = detectPart(signature(decoder));
      const pair = pairParts(enc, dec);
      let encSession = encoder;
      if (opts.embeddingsOnGpu && provider === 'webgpu') {
        // Recreate the encoder with its outputs left in GPU buffers for the decoder.
        await encoder.release();
        encSession = await createSession(
          encoderSrc,
          sessionOptions(opts, CONTRACTS[pair.contract].embeddingNames),
          'encoder',
        );
      }
      return new SamPipeline(
        pair.contract,
        pair.encoder,
        encSession,
        decoder,
        provider,
        performance.now() - t0,
        inputScaling,
      );
    } catch (e) {
      await encoder.release().catch(() => undefined);
      await decoder.release().catch(() => undefined);
      throw toAppError(e, 'model-contract');
    }
  }

  private assertLive(): void {
    if (this.released) throw new AppError('cancelled', 'This model was closed.', { subject: 'session' });
  }

  encode(rgb: Rgb8Image): Promise<EncodeResult> {
    const next = this.encoderChain.then(
      () => this.encodeNow(rgb),
      () => this.encodeNow(rgb),
    );
    this.encoderChain = next.catch(() => undefined);
    return next;
  }

  private async encodeNow(rgb: Rgb8Image): Promise<EncodeResult> {
    this.assertLive();
    const spec = this.encoderInputs[0];
    const inputType = spec?.type === 'float16' || spec?.type === 'uint8' ? spec.type : 'float32';
    const tp = performance.now();
    const { feeds, frame } = encoderFeeds(this.contract, rgb, {
      preprocessInGraph: this.encoderPart.preprocessInGraph === true,
      inputType,
      scaling: this.inputScaling,
    });
    validateFeeds(this.encoderInputs, feeds);
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
    const preprocessMs = performance.now() - tp;
    const { out, ms: encodeMs } = await queued(async () => {
      const t0 = performance.now();
      const o = await this.encoder.run(ortFeeds);
      return { out: o, ms: performance.now() - t0 };
    });
    const tensors: Record<string, ort.Tensor> = {};
    let bytes = 0;
    let onGpu = false;
    for (const name of CONTRACTS[this.contract].embeddingNames) {
      const t = out[name];
      if (!t) throw new AppError('tensor-mismatch', `The encoder returned no '${name}'.`, { subject: name });
      tensors[name] = t;
      bytes += elementCount(t.dims) * (t.type === 'float16' ? 2 : 4);
      onGpu ||= t.location === 'gpu-buffer';
    }
    // GPU outputs the decoder does not need are freed at once (CPU ones are garbage-collected).
    for (const [k, v] of Object.entries(out)) if (!(k in tensors) && v.location === 'gpu-buffer') v.dispose();
    return { embedding: { contract: this.contract, frame, tensors, bytes, onGpu }, encodeMs, preprocessMs };
  }

  decode(
    embedding: Embedding,
    prompts: readonly PromptSet[],
    maskInputs?: readonly (Float32Array | undefined)[],
  ): Promise<DecodeResult> {
    if (this.released)
      return Promise.reject(new AppError('cancelled', 'This model was closed.', { subject: 'session' }));
    return this.decoderSession.decode(embedding, prompts, maskInputs);
  }

  /** Runs the decoder on raw feeds after validation (diagnostics and tests of the validation path). */
  runDecoderChecked(feeds: Readonly<Record<string, ort.Tensor>>): Promise<Record<string, ort.Tensor>> {
    return this.decoderSession.runChecked(feeds);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.encoderChain;
    await Promise.allSettled([this.encoder.release(), this.decoderSession.release()]);
  }
}

/** Reads the encoder graph (not the weights) to find its in-graph input scaling. */
export function encoderInputScaling(src: ModelSource): InputScaling {
  const bytes =
    src instanceof Uint8Array ? src : src instanceof ArrayBuffer ? new Uint8Array(src) : src.bytes;
  try {
    return detectInputScaling(readOnnxHeader(bytes));
  } catch {
    // The session was created from these bytes, so they are a model; an unreadable header (ORT
    // format) leaves the contract's usual input.
    return UNKNOWN_SCALING;
  }
}

/** fp16 exports without kept I/O types take float16 prompt tensors: convert float32 feeds to match. */
function conformType(t: TensorData, want: string | undefined): TensorData {
  if (want === 'float16' && t.type === 'float32')
    return { type: 'float16', data: float32ToFloat16(t.data), dims: t.dims };
  return t;
}

export function disposeEmbedding(e: Embedding): void {
  for (const t of Object.values(e.tensors)) if (t.location === 'gpu-buffer') t.dispose();
}
