import type { Modality, Volume } from '../image/types';

/** A file handed to a reader: its name (for format hints and messages) and its bytes. */
export interface InputFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export type ImageFormat = 'nifti' | 'dicom' | 'png' | 'jpeg' | 'nrrd' | 'metaimage' | 'dicom-seg';

/** What every reader returns: a volume in the file's own index order (canonicalize before display). */
export interface ReadResult {
  readonly volume: Volume;
  readonly format: ImageFormat;
  /** Things the user should know about how the file was read (filled outline, swapped bytes, 4D → first volume…). */
  readonly notes: readonly string[];
  /** True when the stored values are 8-bit (used unchanged as model input). */
  readonly is8bit: boolean;
  /** Interleaved RGB for colour 2D images (the grey `volume` holds their luma). */
  readonly rgb?: Uint8Array;
  /** Label names carried by the file itself (DICOM SEG segment labels). */
  readonly labelNames?: ReadonlyMap<number, string>;
  /** Patient-free identifiers kept for grid checks. */
  readonly frameOfReference?: string;
  readonly modality?: Modality;
  /** For DICOM sources: what a DICOM SEG export must reference (UIDs only, never patient data). */
  readonly dicom?: {
    readonly studyUid: string;
    readonly seriesUid: string;
    readonly sopInstanceUids: readonly string[];
    readonly sopClassUid: string;
  };
}

export interface ReadOptions {
  /** Refuse, from the header, anything that would need more bytes than this (default 1 GiB). */
  readonly budgetBytes?: number;
  readonly modality?: Modality;
  /** Accept files that break the standard in recoverable ways (flagged in the result's notes). */
  readonly lenient?: boolean;
}

export const DEFAULT_BUDGET = 1024 * 1024 * 1024;
