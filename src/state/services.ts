/**
 * What the UI may ask of the engines. The composition root (app/) implements it; components receive it
 * through React context and never construct engines themselves.
 */
import type { Rgb8Image } from '../core/image/types';
import type { SelectionRule } from '../core/models/selection';
import type { Slot } from './compare';

export interface CachedModelInfo {
  readonly url: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly fetchedAt: string;
}

export interface CompareActions {
  mountViewer: (elements: { sam: HTMLDivElement; sam2: HTMLDivElement }) => Promise<() => void>;
  openFiles: (files: readonly File[], role: 'auto' | 'image' | 'gt') => Promise<void>;
  openDrop: (dt: DataTransfer, role: 'auto' | 'image' | 'gt') => Promise<void>;
  openSample: () => Promise<void>;
  setSlice: (k: number) => void;
  setStructure: (value: number) => void;
  setWindowPreset: (id: string) => void;
  setModality: (m: 'CT' | 'MR' | 'US' | 'OT') => void;
  setRule: (rule: SelectionRule) => void;
  undo: () => void;
  redo: () => void;
  clearPrompts: () => void;
  autoPrompt: () => void;
  resetView: () => void;
  toggle: (what: 'gt' | 'masks') => void;
  loadPreset: (slot: Slot, presetId: string) => Promise<void>;
  loadLocalModel: (slot: Slot, files: readonly File[]) => Promise<void>;
  cancelDownload: (slot: Slot) => void;
  retryGpu: () => Promise<void>;
  switchToWasm: () => Promise<void>;
  exportMasks: (kind: 'png' | 'nifti' | 'dicom-seg') => Promise<void>;
  screenshot: () => Promise<void>;
  /** Candidate `index` of the slot's last decode over the model input it came from (its thumbnail). */
  candidate: (slot: Slot, index: number) => { readonly image: Rgb8Image; readonly mask: Uint8Array } | null;
  listCachedModels: () => Promise<CachedModelInfo[]>;
  deleteCachedModel: (url: string) => Promise<void>;
  modelHost: () => string;
  setModelHost: (url: string) => void;
  setLenientDicom: (on: boolean) => void;
  /** Wipes browser storage (keeping downloaded models if asked) and reloads with nothing in memory. */
  clearSession: (keepModels: boolean) => Promise<void>;
}

export interface BatchActions {
  openDatasetDrop: (dt: DataTransfer) => Promise<void>;
  openDatasetFiles: (files: readonly File[]) => Promise<void>;
  /** Scans the current folder again (after the unit-defining settings change). */
  rescan: () => void;
  /** Pairs images with masks by file patterns, for a folder whose layout was not recognised. */
  applyMapping: (m: {
    imageGlob: string;
    maskGlob: string;
    pairBy: 'same-stem' | 'stem-prefix';
    modality: 'CT' | 'MR' | 'US' | 'OT';
    valueNames: string;
  }) => void;
  start: () => Promise<void>;
  pause: () => void;
  resume: () => void;
  cancel: () => void;
  loadRun: (id: string) => Promise<void>;
  deleteRun: (id: string) => Promise<void>;
  refreshRuns: () => Promise<void>;
  exportResults: (what: 'results' | 'summary' | 'paired' | 'provenance') => void;
  exportFigure: (name: string, format: 'png' | 'svg', dataUrl: string) => void;
  openUnit: (unit: {
    case: string;
    slice: number;
    label_value: number;
    points: string;
    box: string;
  }) => Promise<void>;
}
