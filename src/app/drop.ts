/**
 * Files from a drop, folders included (recursive directory entries), each with its path relative to
 * what was dropped — what dataset layouts and DICOM series need.
 */
export interface DroppedFile {
  readonly path: string;
  readonly file: File;
}

interface Entry {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
  readonly fullPath: string;
}
interface FileEntryLike extends Entry {
  file: (ok: (f: File) => void, err: (e: unknown) => void) => void;
}
interface DirEntryLike extends Entry {
  createReader: () => { readEntries: (ok: (e: Entry[]) => void, err: (e: unknown) => void) => void };
}

async function walk(entry: Entry, out: DroppedFile[]): Promise<void> {
  if (entry.isFile) {
    const f = await new Promise<File>((ok, err) => {
      (entry as FileEntryLike).file(ok, err);
    });
    out.push({ path: entry.fullPath.replace(/^\//, ''), file: f });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as DirEntryLike).createReader();
  // readEntries returns batches (Chromium: 100 at a time) until an empty batch.
  for (;;) {
    const batch = await new Promise<Entry[]>((ok, err) => {
      reader.readEntries(ok, err);
    });
    if (batch.length === 0) break;
    for (const e of batch) await walk(e, out);
  }
}

export async function filesFromDrop(dt: DataTransfer): Promise<DroppedFile[]> {
  const entries: Entry[] = [];
  for (const item of [...dt.items]) {
    // webkitGetAsEntry is missing in some embedded browsers; fall back to plain files then.
    const get = (item as unknown as { webkitGetAsEntry?: () => Entry | null }).webkitGetAsEntry;
    const e = get ? get.call(item) : null;
    if (e) entries.push(e);
  }
  if (entries.length === 0) return [...dt.files].map((f) => ({ path: f.name, file: f }));
  const out: DroppedFile[] = [];
  for (const e of entries) await walk(e, out);
  return out;
}

/** Files from an <input type=file webkitdirectory> or a plain multi-file input. */
export function filesFromInput(list: FileList | readonly File[]): DroppedFile[] {
  return [...list].map((f) => ({
    path: (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name,
    file: f,
  }));
}
