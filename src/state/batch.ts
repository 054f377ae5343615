/** The batch view's state: dataset preview, settings, progress, and the rows of the selected run. */
import { create } from 'zustand';
import type { SelectionRule } from '../core/models/selection';
import type { ResultRow } from '../batch/results';
import type { BatchFailure, BatchOutcome, BatchProgress } from '../batch/runner';
import type { MetricId } from '../batch/summary';
import type { EmbeddingMemory } from '../runtime/local-inference';
export type { EmbeddingMemory };

export interface PreviewCase {
  readonly id: string;
  readonly modality: string;
  readonly slices: number;
  readonly structures: readonly { readonly name: string; readonly value: number; readonly units: number }[];
  readonly units: number;
  readonly error?: string;
}

export interface RunListItem {
  readonly id: string;
  readonly dataset: string;
  readonly createdAt: string;
  readonly status: string;
  readonly doneUnits: number;
  readonly totalUnits: number;
}

export interface BatchState {
  readonly phase: 'idle' | 'scanning' | 'ready' | 'running' | 'paused' | 'done' | 'error';
  readonly status: string;
  readonly dataset: string | null;
  readonly layout: string | null;
  readonly fileCount: number;
  readonly previews: readonly PreviewCase[];
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
  readonly planNotes: readonly string[];
  readonly strategies: readonly string[];
  readonly maxPoints: number;
  readonly seed: number;
  readonly minArea: number;
  readonly sampling: 'all' | 'every' | 'largest';
  readonly samplingK: number;
  readonly windowPreset: string;
  readonly progress: BatchProgress | null;
  /** The batch worker's embedding memory, reported with each progress event. */
  readonly memory: EmbeddingMemory | null;
  readonly runId: string | null;
  readonly resumeOf: RunListItem | null;
  readonly runs: readonly RunListItem[];
  readonly rows: readonly ResultRow[];
  readonly rule: SelectionRule;
  readonly metric: MetricId;
  /** Failures of the last run that the result rows cannot hold (cases that did not load, units not written). */
  readonly errors: readonly BatchFailure[];
  /** The last run's counts (null before a run ends). */
  readonly outcome: BatchOutcome | null;
  readonly patch: (p: Partial<Omit<BatchState, 'patch' | 'clear'>>) => void;
  readonly clear: () => void;
}

const initial = {
  phase: 'idle' as const,
  status: '',
  dataset: null,
  layout: null,
  fileCount: 0,
  previews: [],
  skipped: [],
  planNotes: [],
  strategies: ['centre-random', 'pos-neg'],
  maxPoints: 5,
  seed: 42,
  minArea: 50,
  sampling: 'all' as const,
  samplingK: 3,
  windowPreset: 'auto',
  progress: null,
  memory: null,
  runId: null,
  resumeOf: null,
  runs: [],
  rows: [],
  rule: 'predicted-iou' as SelectionRule,
  metric: 'dice' as MetricId,
  errors: [],
  outcome: null,
};

export const useBatchStore = create<BatchState>()((set) => ({
  ...initial,
  patch: (p) => set(p),
  clear: () => set(initial),
}));
