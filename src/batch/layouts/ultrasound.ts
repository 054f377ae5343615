/** The ultrasound datasets: CAMUS (cardiac), HC18 (fetal head outlines), FH-PS-AOP (transperineal). */
import type { Detector } from './assemble';
import { IMAGE_EXTS, MHD_DATA_EXTS, joinPath, naturalCompare, type Entry } from './paths';
import { readText, splitCsvLine } from './read';
import type { CasePlan, SkippedFile } from './types';

// ---------------------------------------------------------------------------------------------------------
// CAMUS

const CAMUS = /^(patient\d+)_(2CH|4CH)_(ED|ES|half_sequence|sequence)(_gt)?$/i;
const CAMUS_EXTS = ['nii.gz', 'nii', 'mha', 'mhd'];

export const detectCamus: Detector = (fs) => {
  const frames = new Map<string, { id: string; images: Entry[]; gts: Entry[] }>();
  const skipped: SkippedFile[] = [];
  let seen = false;
  for (const e of fs.entries) {
    if (/^info_(2|4)ch\.cfg$/i.test(e.base)) {
      skipped.push({
        path: e.path,
        reason: 'CAMUS info file (ED/ES frame numbers, image quality): not needed',
      });
      continue;
    }
    const m = CAMUS.exec(e.stem);
    if (m === null) continue;
    if (MHD_DATA_EXTS.has(e.ext)) {
      seen = true;
      continue; // read through its .mhd header
    }
    if (!CAMUS_EXTS.includes(e.ext)) continue;
    seen = true;
    const phase = (m[3] ?? '').toLowerCase();
    if (phase === 'half_sequence' || phase === 'sequence') {
      skipped.push({
        path: e.path,
        reason: `${phase}: the cine loop${m[4] === undefined ? '' : "'s ground truth"}, not a single ED/ES frame; the study uses the ED and ES frames`,
      });
      continue;
    }
    const id = `${m[1] ?? ''}_${(m[2] ?? '').toUpperCase()}_${phase.toUpperCase()}`;
    const key = `${e.dir}|${id.toLowerCase()}`;
    const f = frames.get(key) ?? { id, images: [], gts: [] };
    (m[4] === undefined ? f.images : f.gts).push(e);
    frames.set(key, f);
  }
  if (!seen) return Promise.resolve(null);

  const rank = (e: Entry): number => CAMUS_EXTS.indexOf(e.ext);
  const cases: CasePlan[] = [];
  for (const f of frames.values()) {
    const images = [...f.images].sort((a, b) => rank(a) - rank(b));
    const gts = [...f.gts].sort((a, b) => rank(a) - rank(b));
    const [image, ...extraImages] = images;
    const [gt, ...extraGts] = gts;
    for (const x of [...extraImages, ...extraGts]) {
      skipped.push({
        path: x.path,
        reason: `duplicate of the same frame in another format (${image?.base ?? gt?.base ?? ''} is used)`,
      });
    }
    if (image === undefined) {
      if (gt !== undefined) skipped.push({ path: gt.path, reason: 'ground truth without its image' });
      continue;
    }
    if (gt === undefined) {
      skipped.push({
        path: image.path,
        reason: 'no labels (no _gt file; CAMUS test-set ground truth is not published)',
      });
      continue;
    }
    cases.push({
      id: f.id,
      modality: 'US',
      image: [image.path],
      labels: { kind: 'labelmap', path: gt.path },
      labelTable: 'camus',
    });
  }
  const notes: string[] = [];
  if (cases.some((c) => c.image[0]?.toLowerCase().endsWith('.mhd') === true)) {
    notes.push(
      'MetaImage (.mhd) headers are read together with their .raw data files; keep them side by side.',
    );
  }
  return Promise.resolve({
    layout: 'camus',
    defaultName: 'CAMUS',
    cases,
    skipped,
    consumed: [],
    notes,
    expected: 'patientNNNN/patientNNNN_{2CH,4CH}_{ED,ES}.nii.gz with …_gt.nii.gz',
  });
};

// ---------------------------------------------------------------------------------------------------------
// HC18

const HC_IMAGE = /^\d+_\d*HC$/i;
const HC_ANNOTATION = /^(\d+_\d*HC)_Annotation$/i;
const TRAINING_CSV = /^training_set_pixel_size_and_hc\.csv$/i;

interface PixelTable {
  readonly spacing: Map<string, number>;
  readonly problems: string[];
}

function parsePixelCsv(text: string, path: string): PixelTable {
  const spacing = new Map<string, number>();
  const problems: string[] = [];
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.toLowerCase());
  const fileCol = header.findIndex((h) => /file ?name/.test(h));
  const sizeCol = header.findIndex((h) => /pixel ?size/.test(h));
  if (fileCol < 0 || sizeCol < 0) {
    problems.push(
      `${path} has no "filename" and "pixel size(mm)" columns; pixel sizes are unknown (metrics in pixels).`,
    );
    return { spacing, problems };
  }
  let bad = 0;
  for (const line of lines.slice(1)) {
    const cols = splitCsvLine(line);
    const name = cols[fileCol];
    const mm = Number(cols[sizeCol]);
    if (name === undefined || name === '') continue;
    if (Number.isFinite(mm) && mm > 0) spacing.set(name.toLowerCase(), mm);
    else bad++;
  }
  if (bad > 0) problems.push(`${path}: ${bad} row(s) without a positive pixel size were ignored.`);
  return { spacing, problems };
}

export const detectHc18: Detector = async (fs) => {
  const pairs = new Map<string, { id: string; image?: Entry; annotation?: Entry }>();
  for (const e of fs.entries) {
    if (e.ext !== 'png') continue;
    const a = HC_ANNOTATION.exec(e.stem);
    const id = a === null ? (HC_IMAGE.test(e.stem) ? e.stem : undefined) : (a[1] ?? e.stem);
    if (id === undefined) continue;
    const key = `${e.dir}|${id.toLowerCase()}`;
    const p = pairs.get(key) ?? { id };
    if (a === null) p.image = e;
    else p.annotation = e;
    pairs.set(key, p);
  }
  if (pairs.size === 0) return null;

  const notes = ['HC18 annotations are ellipse outlines; they are filled to get the head.'];
  const consumed: string[] = [];
  const skipped: SkippedFile[] = [];
  const spacing = new Map<string, number>();
  const csvs = fs.entries
    .filter((e) => TRAINING_CSV.test(e.base))
    .sort((a, b) => naturalCompare(a.norm, b.norm));
  for (const csv of csvs) {
    const t = parsePixelCsv(await readText(csv), csv.path);
    for (const [k, v] of t.spacing) if (!spacing.has(k)) spacing.set(k, v);
    notes.push(...t.problems);
    consumed.push(csv.path);
  }
  if (csvs.length === 0) {
    notes.push('No training_set_pixel_size_and_HC.csv: pixel sizes are unknown, so distances are in pixels.');
  }
  for (const e of fs.entries) {
    if (e.ext === 'csv' && /^test_set_pixel_size/i.test(e.base)) {
      skipped.push({ path: e.path, reason: 'pixel sizes of the test set, whose images have no annotations' });
    }
  }

  const cases: CasePlan[] = [];
  for (const p of pairs.values()) {
    if (p.image === undefined) {
      if (p.annotation !== undefined)
        skipped.push({ path: p.annotation.path, reason: 'annotation without its image' });
      continue;
    }
    if (p.annotation === undefined) {
      const test = p.image.segs.some((s) => /^test/i.test(s));
      skipped.push({
        path: p.image.path,
        reason: test
          ? 'no annotation (HC18 test-set images have none published)'
          : 'no annotation (no …_Annotation.png beside it)',
      });
      continue;
    }
    const mm = spacing.get(p.image.base.toLowerCase());
    cases.push({
      id: p.id,
      modality: 'US',
      image: [p.image.path],
      labels: { kind: 'outline', path: p.annotation.path },
      labelTable: 'hc18',
      ...(mm === undefined ? {} : { pixelSpacingMm: mm }),
      ...(mm === undefined && csvs.length > 0
        ? { notes: ['pixel size not in the csv: distances in pixels'] }
        : {}),
    });
  }
  return {
    layout: 'hc18',
    defaultName: 'HC18',
    cases,
    skipped,
    consumed,
    notes,
    expected: 'training_set/NNN_HC.png with NNN_HC_Annotation.png',
  };
};

// ---------------------------------------------------------------------------------------------------------
// FH-PS-AOP (PSFHS)

export const detectFhPsAop: Detector = (fs) => {
  const groups = new Map<string, { images: Map<string, Entry>; labels: Map<string, Entry> }>();
  const skipped: SkippedFile[] = [];
  for (const e of fs.entries) {
    const p = e.parent.toLowerCase();
    if (p !== 'image_mha' && p !== 'label_mha') continue;
    if (MHD_DATA_EXTS.has(e.ext)) continue;
    if (!IMAGE_EXTS.has(e.ext)) {
      skipped.push({ path: e.path, reason: `not an image file (${e.parent}/ holds NNNNN.mha files)` });
      continue;
    }
    const top = e.dir.slice(0, Math.max(0, e.dir.length - e.parent.length - 1));
    const g = groups.get(top) ?? { images: new Map(), labels: new Map() };
    (p === 'image_mha' ? g.images : g.labels).set(e.stem, e);
    groups.set(top, g);
  }
  if (groups.size === 0) return Promise.resolve(null);
  const cases: CasePlan[] = [];
  for (const [top, g] of groups) {
    for (const [stem, image] of g.images) {
      const label = g.labels.get(stem);
      if (label === undefined) {
        skipped.push({
          path: image.path,
          reason: `no labels (no ${joinPath(top, 'label_mha', image.base)})`,
        });
        continue;
      }
      cases.push({
        id: stem,
        modality: 'US',
        image: [image.path],
        labels: { kind: 'labelmap', path: label.path },
        labelTable: 'fh-ps-aop',
      });
    }
    for (const [stem, label] of g.labels) {
      if (!g.images.has(stem))
        skipped.push({ path: label.path, reason: 'label without its image (image_mha/)' });
    }
  }
  return Promise.resolve({
    layout: 'fh-ps-aop',
    defaultName: 'FH-PS-AOP',
    cases,
    skipped,
    consumed: [],
    notes: [],
    expected: 'image_mha/NNNNN.mha with label_mha/NNNNN.mha',
  });
};
