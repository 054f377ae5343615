/**
 * In-process inference for batch runs outside the browser worker (the command line, Node tests): the
 * same pipelines, with a small embedding map keyed like the worker's cache.
 */
import { AppError } from '../core/errors';
import type { Rgb8Image } from '../core/image/types';
import type { DecodedSet } from '../core/models/adapters';
import type { PromptSet } from '../core/prompts/types';
import {
  disposeEmbedding,
  SamPipeline,
  type Embedding,
  type ModelSource,
  type PipelineOptions,
} from './pipeline';

export class LocalInference {
  private readonly pipes = new Map<string, SamPipeline>();
  private readonly embeddings = new Map<string, Embedding>();

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
    this.embeddings.set(k, r.embedding);
    return { encodeMs: r.encodeMs, cached: false };
  };

  decode = async (
    slot: string,
    key: string,
    prompts: readonly PromptSet[],
  ): Promise<{ sets: readonly DecodedSet[]; decodeMs: number }> => {
    const e = this.embeddings.get(`${slot}|${key}`);
    if (!e) throw new AppError('invalid-argument', `Slice ${key} is not encoded for ${slot}.`);
    const r = await this.pipe(slot).decode(e, prompts);
    return { sets: r.sets, decodeMs: r.decodeMs };
  };

  release = (key: string): Promise<void> => {
    for (const [k, e] of this.embeddings) {
      if (k.endsWith(`|${key}`)) {
        disposeEmbedding(e);
        this.embeddings.delete(k);
      }
    }
    return Promise.resolve();
  };

  get embeddingCount(): number {
    return this.embeddings.size;
  }

  async close(): Promise<void> {
    for (const e of this.embeddings.values()) disposeEmbedding(e);
    this.embeddings.clear();
    for (const p of this.pipes.values()) await p.release();
    this.pipes.clear();
  }
}
