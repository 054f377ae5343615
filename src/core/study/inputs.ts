/**
 * Which of the files a user opened is the image, which are its masks and which are side files (pixel
 * sizes, label names): the rule the compare view applies to a drop or a file pick, pure and tested
 * apart from the reading. The caller reads what the plan names.
 */
import { AppError } from '../errors';
import { isMaskName, isSideFile, parseLabelsJson, parsePixelSizeCsv } from '../io/open';
import { isDicomFile, isDicomSeg } from '../io/read-any';
import type { InputFile } from '../io/types';

/** `auto`: decide from the names and contents; `image`: the first file is the image; `gt`: masks only. */
export type OpenRole = 'auto' | 'image' | 'gt';

/** What side files say: pixel size (mm) by image base name, structure names by label value. */
export interface SideInfo {
  readonly spacing: ReadonlyMap<string, number>;
  readonly names: ReadonlyMap<number, string>;
}

export type ImageSource =
  | { readonly kind: 'dicom'; readonly files: readonly InputFile[] }
  | { readonly kind: 'file'; readonly file: InputFile; readonly companions: readonly InputFile[] };

export type InputPlan =
  /** Ground truth for the open image: the DICOM SEG when there is one, else the masks combined. */
  | {
      readonly kind: 'gt';
      readonly side: SideInfo;
      readonly seg: InputFile | null;
      readonly masks: readonly InputFile[];
    }
  /**
   * A new study: the image, and its ground truth — the DICOM SEG when there is one, else the masks
   * combined (the masks' first file also names the pixel size the SEG is given, as before the split).
   */
  | {
      readonly kind: 'study';
      readonly side: SideInfo;
      readonly image: ImageSource;
      readonly imageName: string;
      readonly seg: InputFile | null;
      readonly masks: readonly InputFile[];
    };

/** The last path component. */
export function baseName(n: string): string {
  return n.split('/').pop() ?? n;
}

export function readSideFiles(side: readonly InputFile[]): SideInfo {
  const text = (f: InputFile) => new TextDecoder().decode(f.bytes);
  const spacing = new Map<string, number>();
  const names = new Map<number, string>();
  for (const f of side) {
    if (/\.csv$/i.test(f.name)) for (const [k, v] of parsePixelSizeCsv(text(f))) spacing.set(k, v);
    if (/\.json$/i.test(f.name)) for (const [k, v] of parseLabelsJson(text(f))) names.set(k, v);
  }
  return { spacing, names };
}

/**
 * Sorts opened files. A DICOM series wins as the image unless the role says `image`; otherwise the one
 * file, or the first whose name is not a mask's (`_mask`, `_seg`, …). Raw companions of a detached
 * header travel with it. Throws when nothing can be the image.
 */
export function planInputs(all: readonly InputFile[], role: OpenRole): InputPlan {
  const side = readSideFiles(all.filter((f) => isSideFile(f.name)));
  const data = all.filter((f) => !isSideFile(f.name));
  const segs = data.filter(isDicomSeg);
  const seg = segs[0] ?? null;
  if (role === 'gt') return { kind: 'gt', side, seg, masks: data };
  const dicom = data.filter((f) => isDicomFile(f) && !segs.includes(f));
  if (dicom.length > 0 && role !== 'image') {
    return {
      kind: 'study',
      side,
      image: { kind: 'dicom', files: dicom },
      imageName: `DICOM series (${dicom.length} files)`,
      seg,
      masks: data.filter((f) => !dicom.includes(f) && !segs.includes(f)),
    };
  }
  const image =
    role === 'image' || data.length === 1
      ? data[0]
      : (data.find((f) => !isMaskName(f.name) && !segs.includes(f)) ?? data[0]);
  if (!image) throw new AppError('invalid-argument', 'None of the dropped files is an image this app reads.');
  const companions = data.filter((f) => f !== image && /\.(raw|zraw)$/i.test(f.name));
  return {
    kind: 'study',
    side,
    image: { kind: 'file', file: image, companions },
    imageName: baseName(image.name),
    seg,
    masks:
      role === 'image' ? [] : data.filter((f) => f !== image && !companions.includes(f) && !segs.includes(f)),
  };
}
