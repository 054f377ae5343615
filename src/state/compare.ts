/**
 * The comparison view's serializable state: study metadata, current slice/structure, model slots, the
 * latest numbers per model, prompts, toasts. Volumes, masks and sessions live in engines outside React.
 */
import { create } from 'zustand';
import type { IntensityWindow } from '../core/image/intensity';
import type { Modality } from '../core/image/types';
import type { SegMetrics } from '../core/metrics';
import type { SelectionRule } from '../core/models/selection';
import type { PromptBox, PromptPoint } from '../core/prompts/types';

export type Slot = 'sam' | 'sam2';
export const SLOTS: readonly Slot[] = ['sam', 'sam2'];
export const SLOT_LABEL: Record<Slot, string> = { sam: 'SAM', sam2: 'SAM 2' };

export interface StructureMeta {
  readonly value: number;
  readonly name: string;
  /** Slices on which the structure is present. */
  readonly slices: number;
  /** The slice where it is largest. */
  readonly bestSlice: number;
}

export interface StudyMeta {
  readonly id: string;
  readonly name: string;
  readonly format: string;
  readonly modality: Modality;
  readonly dims: readonly [number, number, number];
  readonly spacing: readonly [number, number, number];
  readonly spacingKnown: boolean;
  readonly is8bit: boolean;
  readonly notes: readonly string[];
  readonly gt: {
    readonly name: string;
    readonly tableLabel: string;
    readonly isModelOutput: boolean;
    readonly notes: readonly string[];
  } | null;
  readonly structures: readonly StructureMeta[];
  /** Whether exports can go back to DICOM (source was DICOM). */
  readonly isDicom: boolean;
}

export interface FileInfo {
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly fromCache: boolean;
}

export interface SlotModel {
  readonly status: 'none' | 'downloading' | 'loading' | 'ready' | 'error';
  readonly presetId?: string;
  readonly label: string;
  readonly contract?: string;
  readonly provider?: 'wasm' | 'webgpu';
  readonly threads?: number;
  readonly isFixture: boolean;
  readonly createMs?: number;
  /** What the encoder graph does to its input and so what the app feeds it (detected at load). */
  readonly encoderInput?: string;
  readonly progress?: {
    readonly file: string;
    readonly fileIndex: number;
    readonly fileCount: number;
    readonly received: number;
    readonly total: number | null;
    readonly bytesPerSec: number;
    readonly etaSec: number | null;
  };
  readonly error?: string;
  readonly files: readonly FileInfo[];
  readonly notices: readonly string[];
}

export interface CandidateMeta {
  readonly predictedIou: number;
  readonly area: number;
  readonly dice: number | null;
}

export interface SlotResult {
  readonly status: 'idle' | 'encoding' | 'decoding' | 'done' | 'error';
  readonly encodeMs?: number;
  readonly decodeMs?: number;
  /** Where the last decode ran: the slot's one-thread decoder worker or the inference worker. */
  readonly decodeWorker?: 'decoder' | 'inference';
  readonly decodeThreads?: number;
  readonly provider?: 'wasm' | 'webgpu';
  readonly metrics: SegMetrics | null;
  readonly candidates: readonly CandidateMeta[];
  readonly selected: number | 'single' | null;
  readonly error?: string;
  /** The prompt-set revision these numbers belong to. */
  readonly revision: number;
}

export interface Toast {
  readonly id: number;
  readonly kind: 'info' | 'warn' | 'error';
  readonly text: string;
  readonly detail?: string;
}

export const EMPTY_RESULT: SlotResult = {
  status: 'idle',
  metrics: null,
  candidates: [],
  selected: null,
  revision: 0,
};
const EMPTY_MODEL: SlotModel = {
  status: 'none',
  label: 'not loaded',
  isFixture: false,
  files: [],
  notices: [],
};

export interface CompareState {
  readonly study: StudyMeta | null;
  readonly loading: string | null;
  /** Read non-conforming DICOM leniently (opt-in; every file read so is noted on the study). */
  readonly lenientDicom: boolean;
  readonly slice: number;
  readonly structure: number | null;
  readonly modelWindow: IntensityWindow;
  readonly windowPreset: string;
  readonly models: Readonly<Record<Slot, SlotModel>>;
  readonly results: Readonly<Record<Slot, SlotResult>>;
  readonly rule: SelectionRule;
  readonly points: readonly PromptPoint[];
  readonly box: PromptBox | null;
  readonly revision: number;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  readonly seed: number;
  readonly autoStrategy: 'centre' | 'centre+random' | 'pos-neg' | 'box';
  readonly autoPositives: number;
  readonly showGt: boolean;
  readonly showMasks: boolean;
  readonly toasts: readonly Toast[];
  readonly gpuLost: string | null;
  readonly activeTab: 'compare' | 'batch' | 'models' | 'about';
  readonly patch: (
    p: Partial<Omit<CompareState, 'patch' | 'setModel' | 'setResult' | 'toast' | 'dismiss' | 'clear'>>,
  ) => void;
  readonly setModel: (slot: Slot, m: Partial<SlotModel>) => void;
  readonly setResult: (slot: Slot, r: Partial<SlotResult>) => void;
  readonly toast: (kind: Toast['kind'], text: string, detail?: string) => void;
  readonly dismiss: (id: number) => void;
  readonly clear: () => void;
}

let toastId = 1;

const initial = {
  study: null,
  loading: null,
  lenientDicom: false,
  slice: 0,
  structure: null,
  modelWindow: { kind: 'window', center: 40, width: 400 } as IntensityWindow,
  windowPreset: 'abdomen',
  models: { sam: EMPTY_MODEL, sam2: EMPTY_MODEL },
  results: { sam: EMPTY_RESULT, sam2: EMPTY_RESULT },
  rule: 'predicted-iou' as SelectionRule,
  points: [],
  box: null,
  revision: 0,
  canUndo: false,
  canRedo: false,
  seed: 42,
  autoStrategy: 'centre' as const,
  autoPositives: 3,
  showGt: true,
  showMasks: true,
  toasts: [],
  gpuLost: null,
  activeTab: 'compare' as const,
};

export const useCompareStore = create<CompareState>()((set) => ({
  ...initial,
  patch: (p) => set(p),
  setModel: (slot, m) => set((s) => ({ models: { ...s.models, [slot]: { ...s.models[slot], ...m } } })),
  setResult: (slot, r) => set((s) => ({ results: { ...s.results, [slot]: { ...s.results[slot], ...r } } })),
  toast: (kind, text, detail) =>
    set((s) => ({
      toasts: [
        ...s.toasts.slice(-4),
        { id: toastId++, kind, text, ...(detail === undefined ? {} : { detail }) },
      ],
    })),
  dismiss: (id) => set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })),
  clear: () => set(initial),
}));
