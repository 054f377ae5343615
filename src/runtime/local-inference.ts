/**
 * In-process inference for batch runs (the batch worker, the command line, Node tests): the same
 * pipelines, with embeddings kept in a byte-budgeted LRU keyed like the interactive worker's cache, so a
 * run of any length holds a bounded amount of embedding memory.
 */
import { AppError } from '../core/errors';
import type { Rgb8Image } from '../core/image/types';
import type { DecodedSet } from '../core/models/adapters';
import type { PromptSet } from '../core/prompts/types';
import { ByteLru } from './embedding-cache';
import {
  disposeEmbedding,
  SamPipeline,
  type Embedding,
  type ModelSource,
  type PipelineOptions,
} from './pipeline';

/** Room for a few slices of both models (a SAM slice is 4 MiB, a SAM 2 slice 16 MiB). */
export const DEFAULT_BATCH_EMBEDDING_BUDGET = 256 * 1024 * 1024;

export interface EmbeddingMemory {
  readonly entries: number;
  readonly bytes: number;
  readonly budgetBytes: number;
  readonly peakEntries: number;
  readonly peakBytes: number;
  readonly evictions: number;
}

export class LocalInference {
  private readonly pipes = new Map<string, SamPipeline>();
  private readonly embeddings: ByteLru<Embedding>;
  private peakBytes = 0;
  private peakEntries = 0;

  constructor(budgetBytes = DEFAULT_BATCH_EMBEDDING_BUDGET) {
    this.embeddings = new ByteLru<Embedding>(budgetBytes, (e) => disposeEmbedding(e));
  }

  async load(
    slot: string,
    encoder: ModelSource,
    decoder: ModelSource,
    opts: PipelineOptions = {},
  ): Promise<SamPipeline> {
    const p = await SamPipeline.create(encoder, decoder, opts);
    await this.pipes.get(slot)?.release();
    this.pipes.set(slot, p);
    return p;
  }

  private pipe(slot: string): SamPipeline {
    const p = this.pipes.get(slot);
    if (!p) throw new AppError('invalid-argument', `No model loaded for ${slot}.`);
    return p;
  }

  encode = async (
    slot: string,
    key: string,
    image: Rgb8Image,
  ): Promise<{ encodeMs: number; cached: boolean }> => {
    const k = `${slot}|${key}`;
    if (this.embeddings.has(k)) return { encodeMs: 0, cached: true };
    const r = await this.pipe(slot).encode(image);
    this.embeddings.set(k, r.embedding, r.embedding.bytes);
    this.peakBytes = Math.max(this.peakBytes, this.embeddings.bytes);
    this.peakEntries = Math.max(this.peakEntries, this.embeddings.size);
    return { encodeMs: r.encodeMs, cached: false };
  };

  /** Throws a 'stale' AppError when the slice was never encoded or its embedding was evicted. */
  decode = async (
    slot: string,
    key: string,
    prompts: readonly PromptSet[],
  ): Promise<{ sets: readonly DecodedSet[]; decodeMs: number }> => {
    const e = this.embeddings.get(`${slot}|${key}`);
    if (!e) throw new AppError('stale', `Slice ${key} is not encoded for ${slot} (or was evicted).`);
    const r = await this.pipe(slot).decode(e, prompts);
    return { sets: r.sets, decodeMs: r.decodeMs };
  };

  /** Frees every model's embedding of a slice. */
  release = (key: string): Promise<void> => {
    for (const slot of this.pipes.keys()) this.embeddings.delete(`${slot}|${key}`);
    return Promise.resolve();
  };

  get embeddingCount(): number {
    return this.embeddings.size;
  }

  memory(): EmbeddingMemory {
    return {
      entries: this.embeddings.size,
      bytes: this.embeddings.bytes,
      budgetBytes: this.embeddings.budgetBytes,
      peakEntries: this.peakEntries,
      peakBytes: this.peakBytes,
      evictions: this.embeddings.evictions,
    };
  }

  async close(): Promise<void> {
    this.embeddings.clear();
    for (const p of this.pipes.values()) await p.release();
    this.pipes.clear();
  }
}
