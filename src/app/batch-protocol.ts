/**
 * Messages between the batch view (main thread) and the batch worker, over the worker bridge
 * (runtime/bridge.ts): each request has an id and one answer (BatchResults), while status and progress
 * stream as events. A run's answer comes when it ends; a crashed worker rejects it.
 */
import type { IntensityWindow } from '../core/image/intensity';
import type { ProtocolSettings } from '../core/prompts/protocol';
import type { DatasetPlan, ManualMapping } from '../batch/layouts/types';
import type { BatchOutcome, BatchProgress, SliceSampling } from '../batch/runner';
import type { EmbeddingMemory } from '../runtime/local-inference';

export interface DatasetInput {
  readonly path: string;
  readonly file: File;
}

export type ModelSourceMsg =
  | {
      readonly slot: 'sam' | 'sam2';
      readonly kind: 'preset';
      readonly presetId: string;
      readonly host: string;
      readonly appBase: string;
    }
  | { readonly slot: 'sam' | 'sam2'; readonly kind: 'local'; readonly files: readonly File[] };

export interface BatchSettings {
  readonly protocol: ProtocolSettings;
  readonly sampling: SliceSampling;
  readonly window?: IntensityWindow;
  readonly nsdTolerance: number;
}

export interface CasePreview {
  readonly id: string;
  readonly modality: string;
  readonly slices: number;
  readonly structures: readonly { readonly name: string; readonly value: number; readonly units: number }[];
  readonly units: number;
  readonly error?: string;
}

export type BatchRequest =
  | {
      readonly kind: 'scan';
      readonly files: readonly DatasetInput[];
      readonly rootName: string;
      readonly settings: BatchSettings;
      /** For a folder whose layout was not recognised: how images pair with masks. */
      readonly mapping?: ManualMapping;
    }
  | {
      readonly kind: 'run';
      readonly runId: string;
      readonly dataset: string;
      readonly fingerprint: string;
      readonly files: readonly DatasetInput[];
      readonly plan: DatasetPlan;
      readonly settings: BatchSettings;
      readonly models: readonly ModelSourceMsg[];
      readonly provider: 'wasm' | 'webgpu';
      readonly threads: number;
      readonly totalUnits: number;
      readonly wasmPaths?: { readonly mjs: string; readonly wasm: string };
    }
  | { readonly kind: 'pause' }
  | { readonly kind: 'resume' }
  | { readonly kind: 'cancel' };

export interface ScanResult {
  readonly plan: DatasetPlan;
  readonly previews: readonly CasePreview[];
}

export interface RunResult {
  /** What the run did, failures counted (a run whose every unit failed has `failed` set). */
  readonly outcome: BatchOutcome;
  readonly cancelled: boolean;
}

/** The answer to each request kind. */
export interface BatchResults {
  scan: ScanResult;
  run: RunResult;
  pause: null;
  resume: null;
  cancel: null;
}

/** Events that stream while a request runs (no id). */
export type BatchEvent =
  | { readonly kind: 'progress'; readonly progress: BatchProgress; readonly memory?: EmbeddingMemory }
  | { readonly kind: 'status'; readonly text: string };
