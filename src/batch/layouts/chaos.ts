/**
 * CHAOS: DICOM series with one ground-truth PNG per slice.
 *   CT/<id>/DICOM_anon/*.dcm + CT/<id>/Ground/*.png
 *   MR/<id>/T2SPIR/DICOM_anon/*.dcm + T2SPIR/Ground/*.png
 *   MR/<id>/T1DUAL/DICOM_anon/{InPhase,OutPhase}/*.dcm + T1DUAL/Ground/*.png (shared by both phases)
 */
import type { Modality } from '../../core/image/types';
import type { Detector } from './assemble';
import { isDicomName, joinPath, naturalCompare, type Entry } from './paths';
import type { CasePlan, SkippedFile } from './types';

interface Series {
  readonly id: string;
  readonly modality: Modality;
  /** Folder holding DICOM_anon (and Ground). */
  readonly seriesDir: string;
  /** The DICOM folder itself (DICOM_anon or DICOM_anon/InPhase). */
  readonly dicomDir: string;
  readonly files: Entry[];
}

export const detectChaos: Detector = (fs, rootName) => {
  const series = new Map<string, Series>();
  const grounds = new Map<string, Entry[]>();
  const skipped: SkippedFile[] = [];
  for (const e of fs.entries) {
    if (e.parent.toLowerCase() === 'ground') {
      const list = grounds.get(e.dir) ?? [];
      list.push(e);
      grounds.set(e.dir, list);
      continue;
    }
    const idx = e.segs.findIndex((s) => s.toLowerCase() === 'dicom_anon');
    if (idx < 0 || idx === e.segs.length - 1) continue;
    if (!isDicomName(e)) {
      skipped.push({ path: e.path, reason: 'not a DICOM file (DICOM_anon/ holds the image slices)' });
      continue;
    }
    const seq = (e.segs[idx - 1] ?? '').toLowerCase();
    const sub = e.segs.slice(idx + 1, -1);
    const phase = (sub[0] ?? '').toLowerCase();
    let suffix = '';
    let patient = e.segs[idx - 1];
    let modality: Modality = 'CT';
    if (seq === 't1dual' || seq === 't2spir') {
      modality = 'MR';
      patient = e.segs[idx - 2];
      suffix =
        seq === 't2spir' ? '-T2' : phase === 'inphase' ? '-T1-in' : phase === 'outphase' ? '-T1-out' : '-T1';
    }
    const id = `${patient ?? rootName ?? 'case'}${suffix}`;
    const seriesDir = e.segs.slice(0, idx).join('/');
    const dicomDir = e.segs.slice(0, -1).join('/');
    let s = series.get(dicomDir);
    if (s === undefined) {
      s = { id, modality, seriesDir, dicomDir, files: [] };
      series.set(dicomDir, s);
    }
    s.files.push(e);
  }
  if (series.size === 0) return Promise.resolve(null);

  const groundByLower = new Map([...grounds.keys()].map((k) => [k.toLowerCase(), k]));
  const cases: CasePlan[] = [];
  const skippedFolders: string[] = [];
  const usedGrounds = new Set<string>();
  for (const s of [...series.values()].sort((a, b) => naturalCompare(a.dicomDir, b.dicomDir))) {
    const groundDir = groundByLower.get(joinPath(s.seriesDir, 'ground').toLowerCase()) ?? '';
    const ground = grounds.get(groundDir);
    if (ground === undefined) {
      skippedFolders.push(s.dicomDir);
      skipped.push({
        path: s.dicomDir,
        reason: `no labels: no Ground folder beside it (${s.files.length} DICOM files)`,
      });
      continue;
    }
    const pngs: Entry[] = [];
    for (const g of ground) {
      if (g.ext === 'png') pngs.push(g);
      else skipped.push({ path: g.path, reason: 'not a PNG (Ground/ holds one PNG mask per slice)' });
    }
    usedGrounds.add(groundDir);
    if (pngs.length === 0) {
      skippedFolders.push(s.dicomDir);
      skipped.push({
        path: s.dicomDir,
        reason: `no labels: Ground holds no PNG masks (${s.files.length} DICOM files)`,
      });
      continue;
    }
    pngs.sort((a, b) => naturalCompare(a.base, b.base) || naturalCompare(a.norm, b.norm));
    const notes: string[] = [];
    if (pngs.length !== s.files.length) {
      notes.push(
        `${s.files.length} DICOM slices but ${pngs.length} ground-truth PNGs: the loader will refuse a mismatch.`,
      );
    }
    if (s.id.includes('-T1'))
      notes.push('T1DUAL ground truth is shared by the in-phase and out-phase series.');
    const mr = s.modality === 'MR';
    cases.push({
      id: s.id,
      modality: s.modality,
      image: s.files.map((f) => f.path).sort(naturalCompare),
      labels: { kind: 'png-stack', paths: pngs.map((p) => p.path) },
      labelTable: mr ? 'chaos-mr' : 'chaos-ct',
      ...(mr ? { valueSnap: 'chaos-mr' as const } : {}),
      ...(notes.length > 0 ? { notes } : {}),
    });
  }
  for (const [dir, list] of grounds) {
    if (usedGrounds.has(dir)) continue;
    skippedFolders.push(dir);
    skipped.push({
      path: dir,
      reason: `ground truth without a DICOM_anon series beside it (${list.length} files)`,
    });
  }
  const notes: string[] = [];
  if (cases.some((c) => c.modality === 'MR')) {
    notes.push(
      'CHAOS MR masks use grey-level bands; values are snapped to 63/126/189/252 (liver, kidneys, spleen).',
    );
  }
  return Promise.resolve({
    layout: 'chaos',
    defaultName: 'CHAOS',
    cases,
    skipped,
    skippedFolders,
    consumed: [],
    notes,
    expected: 'CT/<id>/DICOM_anon/*.dcm with CT/<id>/Ground/*.png, or MR/<id>/T2SPIR|T1DUAL/…',
  });
};
