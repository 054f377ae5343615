/**
 * The public shape of a dataset plan: which files make up each case (image, ground truth, names), which
 * files were left out and why. Plans hold paths only; reading pixels is the job runner's.
 */
import type { Modality } from '../../core/image/types';

export interface DatasetFile {
  /** Relative, '/'-separated, as dropped (webkitRelativePath). Plans refer to files by this exact string. */
  readonly path: string;
  readonly size: number;
  readonly read: () => Promise<Uint8Array>;
}

export type LayoutId =
  | 'nnunet'
  | 'msd'
  | 'amos'
  | 'totalsegmentator'
  | 'chaos'
  | 'camus'
  | 'hc18'
  | 'fh-ps-aop'
  | 'images-masks'
  | 'folder-pairs'
  | 'unknown';

export type LabelSource =
  /** One multi-label file (NIfTI/MHA/NRRD/PNG). */
  | { readonly kind: 'labelmap'; readonly path: string }
  /**
   * One binary file per structure (TotalSegmentator segmentations/, SAM-Med2D masks). Components
   * (_000, _001) of one structure share a name; the consumer merges files with equal names.
   */
  | {
      readonly kind: 'per-structure';
      readonly files: readonly { readonly path: string; readonly name: string }[];
    }
  /** CHAOS Ground/*.png, one per slice, in slice order. */
  | { readonly kind: 'png-stack'; readonly paths: readonly string[] }
  /** HC18 ellipse outline, to be filled. */
  | { readonly kind: 'outline'; readonly path: string };

export interface CasePlan {
  /** Case id used in results and seeds; unique within a plan. */
  readonly id: string;
  /** null = unknown, ask the user. */
  readonly modality: Modality | null;
  /**
   * One file, all files of a DICOM series (natural order), or a MetaImage pair: the .mhd header first,
   * then its .raw/.zraw data file. A labelmap `.mhd` path needs its data file too: see `readerFiles`.
   */
  readonly image: readonly string[];
  readonly labels: LabelSource | null;
  /** A LABEL_TABLES id, or null when names come from files/dataset.json (or are unknown: "label N"). */
  readonly labelTable: string | null;
  /** Label value → structure name, from dataset.json (background 0 left out). */
  readonly labelNames?: ReadonlyMap<number, string>;
  /** Millimetres per pixel (HC18 csv). */
  readonly pixelSpacingMm?: number;
  /** CHAOS MR grey-level bands → 63/126/189/252. */
  readonly valueSnap?: 'chaos-mr';
  readonly notes?: readonly string[];
}

export interface SkippedFile {
  /** A file path as given, or a folder (for a whole DICOM series left out; the reason says how many files). */
  readonly path: string;
  readonly reason: string;
}

export interface DatasetPlan {
  readonly layout: LayoutId;
  readonly name: string;
  /** Sorted by id, natural order. */
  readonly cases: readonly CasePlan[];
  readonly skipped: readonly SkippedFile[];
  readonly notes: readonly string[];
}

export interface ManualMapping {
  /** Tiny glob: `*` (within a folder), `**` (any folders), `?` (one character); case-insensitive. */
  readonly imageGlob: string;
  readonly maskGlob: string;
  /**
   * same-stem: mask file name (without extension) equals the image's → one label map per image.
   * stem-prefix: mask names start with the image's name plus `_`/`-`/`.` → one binary mask per structure,
   * named by the rest (a trailing 3-digit component index `_000` is dropped).
   */
  readonly pairBy: 'same-stem' | 'stem-prefix';
  readonly modality: Modality;
  readonly valueNames?: ReadonlyMap<number, string>;
}
