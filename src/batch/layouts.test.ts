import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../core/errors';
import {
  detectLayout,
  globToRegExp,
  naturalCompare,
  planFromMapping,
  readerFiles,
  type CasePlan,
  type DatasetFile,
  type DatasetPlan,
  type LabelSource,
} from './layouts';

// ---------------------------------------------------------------------------------------------------------
// Synthetic folders: paths only. Reading an image is a bug (detection must not touch pixels), so every
// file without content rejects when read; metadata files carry their text.

const encoder = new TextEncoder();

function folder(paths: readonly string[], contents: Readonly<Record<string, string>> = {}): DatasetFile[] {
  const all = [...paths, ...Object.keys(contents).filter((p) => !paths.includes(p))];
  return all.map((path) => {
    const text = contents[path];
    if (text === undefined) {
      return {
        path,
        size: 1000,
        read: () => Promise.reject(new Error(`detection read the image file ${path}`)),
      };
    }
    const bytes = encoder.encode(text);
    return { path, size: bytes.length, read: () => Promise.resolve(bytes) };
  });
}

const ids = (p: DatasetPlan): string[] => p.cases.map((c) => c.id);

function byId(p: DatasetPlan, id: string): CasePlan {
  const c = p.cases.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no case ${id} in ${ids(p).join(', ')}`);
  return c;
}

function reasonOf(p: DatasetPlan, path: string): string | undefined {
  return p.skipped.find((s) => s.path === path)?.reason;
}

function labelPaths(l: LabelSource | null): string[] {
  if (l === null) return [];
  switch (l.kind) {
    case 'labelmap':
    case 'outline':
      return [l.path];
    case 'per-structure':
      return l.files.map((f) => f.path);
    case 'png-stack':
      return [...l.paths];
  }
}

/** Every non-hidden file is used by a case, read as metadata, skipped itself or under a skipped folder. */
function expectAccounted(
  p: DatasetPlan,
  files: readonly DatasetFile[],
  metadata: readonly string[] = [],
): void {
  const used = new Set<string>(metadata);
  for (const c of p.cases) {
    for (const x of c.image) used.add(x);
    for (const x of labelPaths(c.labels)) used.add(x);
  }
  const skipped = p.skipped.map((s) => s.path);
  const missing = files
    .map((f) => f.path)
    .filter((path) => !/(^|\/)(\.|__MACOSX\/|Thumbs\.db$)/.test(path))
    .filter((path) => !/\.raw$/.test(path))
    .filter((path) => !used.has(path) && !skipped.some((s) => s === path || path.startsWith(`${s}/`)));
  expect(missing).toEqual([]);
  for (const s of p.skipped) expect(s.reason.length).toBeGreaterThan(5);
}

function structureNames(c: CasePlan): string[] {
  if (c.labels?.kind !== 'per-structure') throw new Error(`${c.id} is not per-structure`);
  return [...new Set(c.labels.files.map((f) => f.name))];
}

// ---------------------------------------------------------------------------------------------------------

describe('naturalCompare and the tiny glob', () => {
  it('orders digit runs as numbers and stays deterministic', () => {
    const names = [
      'img10.png',
      'img2.png',
      'img1.png',
      'IMG-0002-00010.png',
      'IMG-0002-00002.png',
      'img02.png',
    ];
    expect([...names].sort(naturalCompare)).toEqual([
      'img1.png',
      'img2.png',
      'img02.png',
      'img10.png',
      'IMG-0002-00002.png',
      'IMG-0002-00010.png',
    ]);
    expect(naturalCompare('a', 'a')).toBe(0);
    expect(naturalCompare('spleen_2', 'spleen_10')).toBeLessThan(0);
  });

  it('matches *, ** and ? and nothing more', () => {
    const star = globToRegExp('images/*.png');
    expect(star.test('images/a.png')).toBe(true);
    expect(star.test('images/sub/a.png')).toBe(false);
    expect(star.test('images/a.pngx')).toBe(false);
    expect(star.test('IMAGES/A.PNG')).toBe(true);
    const deep = globToRegExp('**/masks/**/*_gt.nii.gz');
    expect(deep.test('masks/a_gt.nii.gz')).toBe(true);
    expect(deep.test('x/y/masks/p/q/a_gt.nii.gz')).toBe(true);
    expect(deep.test('x/masks/a_gtXnii.gz')).toBe(false);
    const q = globToRegExp('case_??.nii');
    expect(q.test('case_01.nii')).toBe(true);
    expect(q.test('case_1.nii')).toBe(false);
    expect(q.test('case_/1.nii')).toBe(false);
    expect(() => globToRegExp('  ')).toThrow(AppError);
  });
});

describe('detectLayout: nnU-Net v2', () => {
  const json = JSON.stringify({
    channel_names: { '0': 'T2', '1': 'ADC' },
    labels: { background: 0, PZ: 1, TZ: 2 },
    numTraining: 3,
    file_ending: '.nii.gz',
  });
  const paths = [
    'Dataset005_Prostate/imagesTr/prostate_10_0000.nii.gz',
    'Dataset005_Prostate/imagesTr/prostate_10_0001.nii.gz',
    'Dataset005_Prostate/imagesTr/prostate_2_0000.nii.gz',
    'Dataset005_Prostate/imagesTr/prostate_2_0001.nii.gz',
    'Dataset005_Prostate/imagesTr/prostate_7_0001.nii.gz',
    'Dataset005_Prostate/labelsTr/prostate_10.nii.gz',
    'Dataset005_Prostate/labelsTr/prostate_2.nii.gz',
    'Dataset005_Prostate/labelsTr/prostate_7.nii.gz',
    'Dataset005_Prostate/labelsTr/prostate_99.nii.gz',
    'Dataset005_Prostate/imagesTs/prostate_30_0000.nii.gz',
    'Dataset005_Prostate/imagesTs/prostate_30_0001.nii.gz',
  ];
  const files = folder(paths, { 'Dataset005_Prostate/dataset.json': json });

  it('pairs channel 0 with the label, maps names name→value and the modality from channel_names', async () => {
    const p = await detectLayout(files);
    expect(p.layout).toBe('nnunet');
    expect(p.name).toBe('Dataset005_Prostate');
    expect(ids(p)).toEqual(['prostate_2', 'prostate_10']);
    const c = byId(p, 'prostate_2');
    expect(c.image).toEqual(['Dataset005_Prostate/imagesTr/prostate_2_0000.nii.gz']);
    expect(c.labels).toEqual({ kind: 'labelmap', path: 'Dataset005_Prostate/labelsTr/prostate_2.nii.gz' });
    expect(c.modality).toBe('MR');
    expect(c.labelTable).toBeNull();
    expect([...(c.labelNames ?? new Map<number, string>())]).toEqual([
      [1, 'PZ'],
      [2, 'TZ'],
    ]);
    expect(c.notes?.join(' ')).toMatch(/2 channels; channel 0000 \(T2\) is used/);
    expect(p.notes.join(' ')).toMatch(/channel 0000 \(T2\) is used/);
    expectAccounted(p, files, ['Dataset005_Prostate/dataset.json']);
  });

  it('skips extra channels, a case without channel 0, imagesTs without labels and orphan labels', async () => {
    const p = await detectLayout(files);
    expect(reasonOf(p, 'Dataset005_Prostate/imagesTr/prostate_2_0001.nii.gz')).toMatch(
      /channel 0001 \(ADC\).*only channel 0000/,
    );
    expect(reasonOf(p, 'Dataset005_Prostate/imagesTr/prostate_7_0001.nii.gz')).toMatch(/no channel 0000/);
    expect(reasonOf(p, 'Dataset005_Prostate/imagesTs/prostate_30_0000.nii.gz')).toMatch(/no labels/);
    expect(reasonOf(p, 'Dataset005_Prostate/labelsTr/prostate_99.nii.gz')).toMatch(
      /label without a matching image/,
    );
    // The label of the case lacking channel 0 is unused too.
    expect(reasonOf(p, 'Dataset005_Prostate/labelsTr/prostate_7.nii.gz')).toMatch(/without a matching image/);
    expect(p.skipped.some((s) => s.path.endsWith('dataset.json'))).toBe(false);
  });

  it('refuses a dataset.json that is not JSON, saying which file and what to do', async () => {
    const bad = folder(paths, { 'Dataset005_Prostate/dataset.json': '{"labels": {' });
    const err = await detectLayout(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('corrupt-file');
    expect((err as AppError).message).toMatch(/dataset\.json.*Fix or remove/);
    expect((err as AppError).subject).toBe('Dataset005_Prostate/dataset.json');
  });
});

describe('detectLayout: MSD and nnU-Net v1', () => {
  it('MSD: plain case names, labels value→name, modality dict, hidden ._ files from the tarball ignored', async () => {
    const files = folder(
      [
        'Task09_Spleen/imagesTr/spleen_10.nii.gz',
        'Task09_Spleen/imagesTr/spleen_2.nii.gz',
        'Task09_Spleen/imagesTr/._spleen_2.nii.gz',
        'Task09_Spleen/labelsTr/spleen_10.nii.gz',
        'Task09_Spleen/labelsTr/spleen_2.nii.gz',
        'Task09_Spleen/labelsTr/._spleen_2.nii.gz',
        'Task09_Spleen/imagesTs/spleen_1.nii.gz',
        'Task09_Spleen/.DS_Store',
      ],
      {
        'Task09_Spleen/dataset.json': JSON.stringify({
          name: 'Spleen',
          modality: { '0': 'CT' },
          labels: { '0': 'background', '1': 'spleen' },
        }),
      },
    );
    const p = await detectLayout(files, 'Task09_Spleen');
    expect(p.layout).toBe('msd');
    expect(ids(p)).toEqual(['spleen_2', 'spleen_10']);
    expect(p.cases.every((c) => c.modality === 'CT')).toBe(true);
    expect([...(byId(p, 'spleen_2').labelNames ?? new Map<number, string>())]).toEqual([[1, 'spleen']]);
    expect(reasonOf(p, 'Task09_Spleen/imagesTs/spleen_1.nii.gz')).toMatch(/^no labels/);
    expect(p.skipped.some((s) => s.path.includes('._') || s.path.includes('.DS_Store'))).toBe(false);
    expect(p.notes.join(' ')).toMatch(/Ignored 3 hidden/);
    expectAccounted(p, files, ['Task09_Spleen/dataset.json']);
  });

  it('MSD: 4D multi-channel images use channel 0 and say so; MRI words map to MR', async () => {
    const files = folder(['imagesTr/BRATS_001.nii.gz', 'labelsTr/BRATS_001.nii.gz'], {
      'dataset.json': JSON.stringify({
        modality: { '0': 'FLAIR', '1': 'T1w', '2': 't1gd', '3': 'T2w' },
        labels: { '0': 'background', '1': 'edema', '2': 'non-enhancing tumor', '3': 'enhancing tumour' },
      }),
    });
    const p = await detectLayout(files);
    expect(p.layout).toBe('msd');
    expect(byId(p, 'BRATS_001').modality).toBe('MR');
    expect(p.notes.join(' ')).toMatch(/4 channels \(FLAIR, T1w, t1gd, T2w\); channel 0 is used/);
  });

  it('nnU-Net v1: MSD-style dataset.json but _0000 images; the pairing decides, not the json keys', async () => {
    const files = folder(
      [
        'Task005/imagesTr/la_003_0000.nii.gz',
        'Task005/imagesTr/la_004_0000.nii.gz',
        'Task005/labelsTr/la_003.nii.gz',
        'Task005/labelsTr/la_004.nii.gz',
      ],
      {
        'Task005/dataset.json': JSON.stringify({
          modality: { '0': 'MRI' },
          labels: { '0': 'background', '1': 'left atrium' },
        }),
      },
    );
    const p = await detectLayout(files);
    expect(p.layout).toBe('nnunet');
    expect(ids(p)).toEqual(['la_003', 'la_004']);
    expect(byId(p, 'la_003').modality).toBe('MR');
    expect(byId(p, 'la_003').labelNames?.get(1)).toBe('left atrium');
  });

  it('without dataset.json: modality unknown, names unknown, and a note for each', async () => {
    const files = folder(['imagesTr/case_001_0000.nii.gz', 'labelsTr/case_001.nii.gz']);
    const p = await detectLayout(files);
    expect(p.layout).toBe('nnunet');
    const c = byId(p, 'case_001');
    expect(c.modality).toBeNull();
    expect(c.labelNames).toBeUndefined();
    expect(p.notes.join(' ')).toMatch(/No dataset\.json/);
  });
});

describe('detectLayout: AMOS', () => {
  const paths = [
    'amos22/imagesTr/amos_0001.nii.gz',
    'amos22/imagesTr/amos_0507.nii.gz',
    'amos22/labelsTr/amos_0001.nii.gz',
    'amos22/labelsTr/amos_0507.nii.gz',
    'amos22/imagesVa/amos_0008.nii.gz',
    'amos22/labelsVa/amos_0008.nii.gz',
    'amos22/imagesTs/amos_0600.nii.gz',
  ];

  it('reads ids above 500 as MR, others CT; table amos without dataset.json; Ts without labels skipped', async () => {
    const files = folder(paths);
    const p = await detectLayout(files);
    expect(p.layout).toBe('amos');
    expect(ids(p)).toEqual(['amos_0001', 'amos_0008', 'amos_0507']);
    expect(byId(p, 'amos_0001').modality).toBe('CT');
    expect(byId(p, 'amos_0008').modality).toBe('CT');
    expect(byId(p, 'amos_0507').modality).toBe('MR');
    expect(byId(p, 'amos_0008').labels).toEqual({
      kind: 'labelmap',
      path: 'amos22/labelsVa/amos_0008.nii.gz',
    });
    expect(p.cases.every((c) => c.labelTable === 'amos' && c.labelNames === undefined)).toBe(true);
    expect(reasonOf(p, 'amos22/imagesTs/amos_0600.nii.gz')).toMatch(/^no labels/);
    expectAccounted(p, files);
  });

  it('takes names from dataset.json when present (fixing its "arota"), and no table then', async () => {
    const files = folder(paths, {
      'amos22/dataset.json': JSON.stringify({
        name: 'AMOS',
        modality: { '0': 'CT' },
        labels: { '0': 'background', '1': 'spleen', '8': 'arota' },
      }),
    });
    const p = await detectLayout(files);
    expect(p.layout).toBe('amos');
    const mr = byId(p, 'amos_0507');
    expect(mr.modality).toBe('MR'); // the id wins over the json's "CT"
    expect(mr.labelTable).toBeNull();
    expect(mr.labelNames?.get(8)).toBe('aorta');
    expect(mr.labelNames?.get(1)).toBe('spleen');
    expect(p.notes.join(' ')).toMatch(/arota/);
  });
});

describe('detectLayout: TotalSegmentator', () => {
  it('one case per subject with one binary mask per structure, named by file', async () => {
    const files = folder([
      'Totalsegmentator_dataset_v201/meta.csv',
      'Totalsegmentator_dataset_v201/s0011/ct.nii.gz',
      'Totalsegmentator_dataset_v201/s0011/segmentations/liver.nii.gz',
      'Totalsegmentator_dataset_v201/s0011/segmentations/kidney_left.nii.gz',
      'Totalsegmentator_dataset_v201/s0011/segmentations/urinary_bladder.nii.gz',
      'Totalsegmentator_dataset_v201/s0002/ct.nii.gz',
      'Totalsegmentator_dataset_v201/s0002/segmentations/aorta.nii.gz',
      'Totalsegmentator_dataset_v201/s0003/ct.nii.gz',
      'Totalsegmentator_dataset_v201/s0004/segmentations/spleen.nii.gz',
    ]);
    const p = await detectLayout(files);
    expect(p.layout).toBe('totalsegmentator');
    expect(ids(p)).toEqual(['s0002', 's0011']);
    const c = byId(p, 's0011');
    expect(c.modality).toBe('CT');
    expect(c.image).toEqual(['Totalsegmentator_dataset_v201/s0011/ct.nii.gz']);
    expect(c.labelTable).toBeNull();
    expect(structureNames(c)).toEqual(['kidney_left', 'liver', 'urinary_bladder']);
    expect(reasonOf(p, 'Totalsegmentator_dataset_v201/s0003/ct.nii.gz')).toMatch(/no labels/);
    expect(reasonOf(p, 'Totalsegmentator_dataset_v201/s0004/segmentations/spleen.nii.gz')).toMatch(
      /no image/,
    );
    expect(reasonOf(p, 'Totalsegmentator_dataset_v201/meta.csv')).toMatch(/metadata/);
    expectAccounted(p, files);
  });
});

describe('detectLayout: CHAOS', () => {
  const dcm = (dir: string, n: number): string[] =>
    Array.from({ length: n }, (_, i) => `${dir}/IMG-0002-${String(i + 1).padStart(5, '0')}.dcm`);
  const png = (dir: string, n: number, name = (i: number) => `img${i}.png`): string[] =>
    Array.from({ length: n }, (_, i) => `${dir}/${name(i + 1)}`);
  const paths = [
    ...Array.from(
      { length: 12 },
      (_, i) => `CHAOS_Train_Sets/Train_Sets/CT/1/DICOM_anon/i${String(i).padStart(4, '0')},0000b.dcm`,
    ),
    // Unpadded numbers: 2 must come before 10.
    ...png('CHAOS_Train_Sets/Train_Sets/CT/1/Ground', 12, (i) => `liver_GT_${i - 1}.png`),
    ...dcm('CHAOS_Train_Sets/Train_Sets/MR/2/T2SPIR/DICOM_anon', 3),
    ...png('CHAOS_Train_Sets/Train_Sets/MR/2/T2SPIR/Ground', 3),
    ...dcm('CHAOS_Train_Sets/Train_Sets/MR/2/T1DUAL/DICOM_anon/InPhase', 3),
    ...dcm('CHAOS_Train_Sets/Train_Sets/MR/2/T1DUAL/DICOM_anon/OutPhase', 3),
    ...png('CHAOS_Train_Sets/Train_Sets/MR/2/T1DUAL/Ground', 3),
    ...dcm('CHAOS_Train_Sets/Test_Sets/CT/3/DICOM_anon', 4),
  ];
  const files = folder(paths);

  it('makes CT cases and three MR cases per patient with the right tables and value snapping', async () => {
    const p = await detectLayout(files);
    expect(p.layout).toBe('chaos');
    expect(p.name).toBe('CHAOS_Train_Sets');
    expect(ids(p)).toEqual(['1', '2-T1-in', '2-T1-out', '2-T2']);
    const ct = byId(p, '1');
    expect(ct.modality).toBe('CT');
    expect(ct.labelTable).toBe('chaos-ct');
    expect(ct.valueSnap).toBeUndefined();
    expect(ct.image).toHaveLength(12);
    for (const id of ['2-T1-in', '2-T1-out', '2-T2']) {
      const c = byId(p, id);
      expect(c.modality).toBe('MR');
      expect(c.labelTable).toBe('chaos-mr');
      expect(c.valueSnap).toBe('chaos-mr');
    }
    expect(byId(p, '2-T1-in').image.every((x) => x.includes('/InPhase/'))).toBe(true);
    expect(byId(p, '2-T1-out').image.every((x) => x.includes('/OutPhase/'))).toBe(true);
    expect(byId(p, '2-T1-in').labels).toEqual(byId(p, '2-T1-out').labels);
    expect(byId(p, '2-T2').labels).not.toEqual(byId(p, '2-T1-in').labels);
  });

  it('orders the ground-truth stack by the number in the file name', async () => {
    const p = await detectLayout(files);
    const l = byId(p, '1').labels;
    expect(l?.kind).toBe('png-stack');
    const names = l?.kind === 'png-stack' ? l.paths.map((x) => x.slice(x.lastIndexOf('/') + 1)) : [];
    expect(names).toEqual(Array.from({ length: 12 }, (_, i) => `liver_GT_${i}.png`));
  });

  it('skips a test series without Ground as one folder entry and accounts for every file', async () => {
    const p = await detectLayout(files);
    expect(reasonOf(p, 'CHAOS_Train_Sets/Test_Sets/CT/3/DICOM_anon')).toMatch(/no labels.*4 DICOM files/);
    expect(p.skipped.filter((s) => s.path.includes('Test_Sets'))).toHaveLength(1);
    expectAccounted(p, files);
  });

  it('notes a slice-count mismatch between DICOM and PNGs', async () => {
    const p = await detectLayout(folder([...dcm('CT/5/DICOM_anon', 3), ...png('CT/5/Ground', 2)]));
    expect(byId(p, '5').notes?.join(' ')).toMatch(/3 DICOM slices but 2 ground-truth PNGs/);
  });
});

describe('detectLayout: CAMUS', () => {
  it('NIfTI release: four frames per patient, half_sequence files skipped with the reason', async () => {
    const views = ['2CH_ED', '2CH_ES', '4CH_ED', '4CH_ES'];
    const paths = ['patient0001', 'patient0002'].flatMap((pt) => [
      ...views.flatMap((v) => [
        `database_nifti/${pt}/${pt}_${v}.nii.gz`,
        `database_nifti/${pt}/${pt}_${v}_gt.nii.gz`,
      ]),
      `database_nifti/${pt}/${pt}_2CH_half_sequence.nii.gz`,
      `database_nifti/${pt}/${pt}_2CH_half_sequence_gt.nii.gz`,
      `database_nifti/${pt}/Info_2CH.cfg`,
    ]);
    const files = folder(paths);
    const p = await detectLayout(files);
    expect(p.layout).toBe('camus');
    expect(ids(p)).toEqual([
      'patient0001_2CH_ED',
      'patient0001_2CH_ES',
      'patient0001_4CH_ED',
      'patient0001_4CH_ES',
      'patient0002_2CH_ED',
      'patient0002_2CH_ES',
      'patient0002_4CH_ED',
      'patient0002_4CH_ES',
    ]);
    const c = byId(p, 'patient0002_4CH_ES');
    expect(c).toMatchObject({
      modality: 'US',
      labelTable: 'camus',
      image: ['database_nifti/patient0002/patient0002_4CH_ES.nii.gz'],
      labels: { kind: 'labelmap', path: 'database_nifti/patient0002/patient0002_4CH_ES_gt.nii.gz' },
    });
    expect(reasonOf(p, 'database_nifti/patient0001/patient0001_2CH_half_sequence.nii.gz')).toMatch(
      /^half_sequence/,
    );
    expect(reasonOf(p, 'database_nifti/patient0001/patient0001_2CH_half_sequence_gt.nii.gz')).toMatch(
      /^half_sequence/,
    );
    expect(reasonOf(p, 'database_nifti/patient0001/Info_2CH.cfg')).toMatch(/info file/);
    expectAccounted(p, files);
  });

  it('first release: .mhd headers with their .raw data files, which are no cases and are not skipped', async () => {
    const files = folder([
      'training/patient0001/patient0001_2CH_ED.mhd',
      'training/patient0001/patient0001_2CH_ED.raw',
      'training/patient0001/patient0001_2CH_ED_gt.mhd',
      'training/patient0001/patient0001_2CH_ED_gt.raw',
      'training/patient0001/patient0001_2CH_sequence.mhd',
      'training/patient0001/patient0001_2CH_sequence.raw',
      'testing/patient0051/patient0051_4CH_ES.mhd',
      'testing/patient0051/patient0051_4CH_ES.raw',
      'stray.raw',
    ]);
    const p = await detectLayout(files);
    expect(p.layout).toBe('camus');
    expect(ids(p)).toEqual(['patient0001_2CH_ED']);
    expect(byId(p, 'patient0001_2CH_ED')).toMatchObject({
      image: ['training/patient0001/patient0001_2CH_ED.mhd', 'training/patient0001/patient0001_2CH_ED.raw'],
      labels: { kind: 'labelmap', path: 'training/patient0001/patient0001_2CH_ED_gt.mhd' },
    });
    expect(reasonOf(p, 'training/patient0001/patient0001_2CH_ED.raw')).toBeUndefined();
    expect(reasonOf(p, 'training/patient0001/patient0001_2CH_ED_gt.raw')).toBeUndefined();
    expect(reasonOf(p, 'training/patient0001/patient0001_2CH_sequence.mhd')).toMatch(/^sequence/);
    expect(reasonOf(p, 'training/patient0001/patient0001_2CH_sequence.raw')).toMatch(
      /data file of .*sequence/,
    );
    expect(reasonOf(p, 'testing/patient0051/patient0051_4CH_ES.mhd')).toMatch(/no labels/);
    expect(reasonOf(p, 'stray.raw')).toMatch(/without its \.mhd header/);
    expect(p.notes.join(' ')).toMatch(/\.raw/);
    const present = new Set(files.map((f) => f.path));
    expect(readerFiles('training/patient0001/patient0001_2CH_ED_gt.mhd', (x) => present.has(x))).toEqual([
      'training/patient0001/patient0001_2CH_ED_gt.mhd',
      'training/patient0001/patient0001_2CH_ED_gt.raw',
    ]);
    expect(readerFiles('a/b.nii.gz', () => true)).toEqual(['a/b.nii.gz']);
  });
});

describe('detectLayout: HC18', () => {
  const csv = [
    'filename,pixel size(mm),head circumference (mm)',
    '000_HC.png,0.069135804,44.3',
    '010_2HC.png,0.0799,61.2',
    '011_HC.png,0.09,70',
  ].join('\r\n');
  const paths = [
    'training_set/000_HC.png',
    'training_set/000_HC_Annotation.png',
    'training_set/010_2HC.png',
    'training_set/010_2HC_Annotation.png',
    'training_set/012_HC.png',
    'training_set/012_HC_Annotation.png',
    'training_set/011_HC.png',
    'test_set/000_HC.png',
    'test_set_pixel_size.csv',
  ];

  it('pairs images with outlines and takes each pixel size from the csv', async () => {
    const files = folder(paths, { 'training_set_pixel_size_and_HC.csv': csv });
    const p = await detectLayout(files, 'HC18');
    expect(p.layout).toBe('hc18');
    expect(p.name).toBe('HC18');
    expect(ids(p)).toEqual(['000_HC', '010_2HC', '012_HC']);
    expect(byId(p, '000_HC')).toMatchObject({
      modality: 'US',
      labelTable: 'hc18',
      image: ['training_set/000_HC.png'],
      labels: { kind: 'outline', path: 'training_set/000_HC_Annotation.png' },
      pixelSpacingMm: 0.069135804,
    });
    expect(byId(p, '010_2HC').pixelSpacingMm).toBeCloseTo(0.0799, 10);
    expect(byId(p, '012_HC').pixelSpacingMm).toBeUndefined();
    expect(byId(p, '012_HC').notes?.join(' ')).toMatch(/not in the csv/);
    expect(reasonOf(p, 'training_set/011_HC.png')).toMatch(/no annotation/);
    expect(reasonOf(p, 'test_set/000_HC.png')).toMatch(/test-set/);
    expect(reasonOf(p, 'test_set_pixel_size.csv')).toMatch(/test set/);
    expect(reasonOf(p, 'training_set_pixel_size_and_HC.csv')).toBeUndefined();
    expectAccounted(p, files, ['training_set_pixel_size_and_HC.csv']);
  });

  it('without the csv: no pixel sizes, and a note that distances are in pixels', async () => {
    const p = await detectLayout(folder(paths));
    expect(p.cases.every((c) => c.pixelSpacingMm === undefined)).toBe(true);
    expect(p.notes.join(' ')).toMatch(/pixel sizes are unknown/);
  });
});

describe('detectLayout: FH-PS-AOP', () => {
  it('pairs image_mha with label_mha by number', async () => {
    const files = folder([
      'PSFHS/image_mha/03744.mha',
      'PSFHS/image_mha/00001.mha',
      'PSFHS/label_mha/03744.mha',
      'PSFHS/label_mha/00001.mha',
      'PSFHS/label_mha/00002.mha',
    ]);
    const p = await detectLayout(files);
    expect(p.layout).toBe('fh-ps-aop');
    expect(ids(p)).toEqual(['00001', '03744']);
    expect(byId(p, '03744')).toMatchObject({
      modality: 'US',
      labelTable: 'fh-ps-aop',
      image: ['PSFHS/image_mha/03744.mha'],
      labels: { kind: 'labelmap', path: 'PSFHS/label_mha/03744.mha' },
    });
    expect(reasonOf(p, 'PSFHS/label_mha/00002.mha')).toMatch(/without its image/);
  });
});

describe('detectLayout: images/ + masks/', () => {
  it('SAM-Med2D masks: structure names may hold underscores and digits, components share a name', async () => {
    const files = folder([
      'images/ct_00--case_1.png',
      'images/ct_00--case_11.png',
      'masks/ct_00--case_1_kidney_left_000.png',
      'masks/ct_00--case_11_rib_left_9_000.png',
      'masks/ct_00--case_11_hip_left_000.png',
      'masks/ct_00--case_11_hip_left_001.png',
      'masks/other_liver_000.png',
      'image2label_train.json',
      // A name that extends another at an underscore: the longest image name owns the mask.
      'images/x_1.png',
      'images/x_1_2.png',
      'masks/x_1_2_liver_000.png',
      'masks/x_1_kidney_000.png',
    ]);
    const p = await detectLayout(files);
    expect(p.layout).toBe('images-masks');
    expect(ids(p)).toEqual(['ct_00--case_1', 'ct_00--case_11', 'x_1', 'x_1_2']);
    expect(structureNames(byId(p, 'x_1_2'))).toEqual(['liver']);
    expect(structureNames(byId(p, 'x_1'))).toEqual(['kidney']);
    // The longer image name owns "case_11_…", not "case_1" with structure "1_rib_left_9".
    expect(structureNames(byId(p, 'ct_00--case_11'))).toEqual(['hip_left', 'rib_left_9']);
    expect(structureNames(byId(p, 'ct_00--case_1'))).toEqual(['kidney_left']);
    const l = byId(p, 'ct_00--case_11').labels;
    expect(l?.kind === 'per-structure' ? l.files.filter((f) => f.name === 'hip_left') : []).toHaveLength(2);
    expect(byId(p, 'ct_00--case_1').modality).toBe('CT'); // SA-Med2D names start with the modality
    expect(reasonOf(p, 'masks/other_liver_000.png')).toMatch(/mask without an image/);
    expect(reasonOf(p, 'image2label_train.json')).toMatch(/metadata/);
    expectAccounted(p, files);
  });

  it('same-name masks in labels/ are label maps; modality unknown without a hint in any name', async () => {
    const files = folder([
      'data/images/a.png',
      'data/images/b.jpg',
      'data/labels/a.png',
      'data/labels/b.png',
      'data/images/c.png',
    ]);
    const p = await detectLayout(files);
    expect(p.layout).toBe('images-masks');
    expect(ids(p)).toEqual(['a', 'b']);
    expect(byId(p, 'b').labels).toEqual({ kind: 'labelmap', path: 'data/labels/b.png' });
    expect(p.cases.every((c) => c.modality === null && c.labelTable === null)).toBe(true);
    expect(p.notes.join(' ')).toMatch(/Modality unknown for 2 case/);
    expect(reasonOf(p, 'data/images/c.png')).toMatch(/no labels/);
  });

  it('takes the modality from the folder name when the file names do not say', async () => {
    const p = await detectLayout(folder(['images/x.png', 'masks/x_liver_000.png']), 'abdomen-mri-2d');
    expect(byId(p, 'x').modality).toBe('MR');
    expect(p.notes.join(' ')).toMatch(/Modality MR taken from the folder name "abdomen-mri-2d"/);
    // "ct" inside a word is no modality.
    const q = await detectLayout(folder(['images/x.png', 'masks/x_liver_000.png']), 'project-abstract');
    expect(byId(q, 'x').modality).toBeNull();
  });

  it('gives clashing ids from two splits their folder', async () => {
    const p = await detectLayout(
      folder([
        'root/train/images/a.png',
        'root/train/masks/a.png',
        'root/val/images/a.png',
        'root/val/masks/a.png',
      ]),
    );
    expect(ids(p)).toEqual(['train/images/a', 'val/images/a']);
    expect(new Set(ids(p)).size).toBe(2);
  });
});

describe('detectLayout: root prefix, junk, unknown', () => {
  const inner = [
    'imagesTr/liver_1.nii.gz',
    'labelsTr/liver_1.nii.gz',
    'imagesTr/liver_0.nii.gz',
    'labelsTr/liver_0.nii.gz',
  ];
  const junk = [
    'README.md',
    'notes.docx',
    'LICENSE',
    '.DS_Store',
    '__MACOSX/imagesTr/._liver_1.nii.gz',
    'Thumbs.db',
    'model.pth',
  ];
  const json = JSON.stringify({
    modality: { '0': 'CT' },
    labels: { '0': 'background', '1': 'liver', '2': 'cancer' },
  });

  it('gives the same cases with or without the dropped root folder in the paths', async () => {
    const without = await detectLayout(folder([...inner, ...junk], { 'dataset.json': json }), 'Task03_Liver');
    const withRoot = await detectLayout(
      folder(
        [...inner, ...junk].map((x) => `Task03_Liver/${x}`),
        { 'Task03_Liver/dataset.json': json },
      ),
      'Task03_Liver',
    );
    const unnamed = await detectLayout(
      folder(
        [...inner, ...junk].map((x) => `Task03_Liver/${x}`),
        { 'Task03_Liver/dataset.json': json },
      ),
    );
    for (const p of [without, withRoot, unnamed]) {
      expect(p.layout).toBe('msd');
      expect(p.name).toBe('Task03_Liver');
      expect(ids(p)).toEqual(['liver_0', 'liver_1']);
      expect(byId(p, 'liver_1').labelNames?.get(2)).toBe('cancer');
    }
    expect(withRoot.cases[0]?.image).toEqual(['Task03_Liver/imagesTr/liver_0.nii.gz']);
    expect(without.cases[0]?.image).toEqual(['imagesTr/liver_0.nii.gz']);
    expect(withRoot.skipped.map((s) => s.path.replace('Task03_Liver/', ''))).toEqual(
      without.skipped.map((s) => s.path),
    );
  });

  it('lists junk with a reason and ignores hidden/system files', async () => {
    const files = folder([...inner, ...junk], { 'dataset.json': json });
    const p = await detectLayout(files);
    expect(reasonOf(p, 'README.md')).toMatch(/documentation/);
    expect(reasonOf(p, 'LICENSE')).toMatch(/documentation/);
    expect(reasonOf(p, 'notes.docx')).toMatch(/documentation/);
    expect(reasonOf(p, 'model.pth')).toMatch(/not an image or label file/);
    expect(p.skipped.map((s) => s.path)).not.toContain('.DS_Store');
    expect(p.skipped.map((s) => s.path)).not.toContain('Thumbs.db');
    expect(p.skipped.some((s) => s.path.includes('__MACOSX'))).toBe(false);
    expectAccounted(p, files, ['dataset.json']);
  });

  it('returns an unknown plan with no cases and a note asking for a mapping', async () => {
    const files = folder(['scans/a.nii.gz', 'scans/b.nii.gz', 'seg/a_seg.nii.gz', 'README.md']);
    const p = await detectLayout(files);
    expect(p.layout).toBe('unknown');
    expect(p.cases).toEqual([]);
    expect(p.notes.join(' ')).toMatch(/Map images to masks/);
    expect(p.skipped.map((s) => s.path).sort()).toEqual(files.map((f) => f.path).sort());
  });

  it('refuses an empty drop with a clear AppError', async () => {
    await expect(detectLayout([])).rejects.toThrow(/no files/);
    await expect(detectLayout(folder(['.DS_Store', '__MACOSX/x']))).rejects.toBeInstanceOf(AppError);
  });

  it('keeps a recognised layout when a lower-priority one has a broken dataset.json', async () => {
    const p = await detectLayout(
      folder(['training_set/000_HC.png', 'training_set/000_HC_Annotation.png', 'other/imagesTr/a.nii.gz'], {
        'other/dataset.json': 'not json',
      }),
    );
    expect(p.layout).toBe('hc18');
    expect(ids(p)).toEqual(['000_HC']);
    expect(p.notes.join(' ')).toMatch(/could not be read: other\/dataset\.json is not valid JSON/);
  });

  it('prefers the most specific layout and mentions a second one', async () => {
    const p = await detectLayout(
      folder([
        'hc/training_set/000_HC.png',
        'hc/training_set/000_HC_Annotation.png',
        'x/images/a.png',
        'x/masks/a.png',
      ]),
    );
    expect(p.layout).toBe('hc18');
    expect(ids(p)).toEqual(['000_HC']);
    expect(p.notes.join(' ')).toMatch(/Also found 1 case\(s\) laid out like images\/masks/);
    expect(reasonOf(p, 'x/images/a.png')).toMatch(/does not fit the HC18 layout/);
  });
});

describe('planFromMapping', () => {
  const files = folder([
    'study/scans/p1.nii.gz',
    'study/scans/p2.nii.gz',
    'study/scans/p3.nii.gz',
    'study/seg/p1.nii.gz',
    'study/seg/p2.nii.gz',
    'study/seg/p9.nii.gz',
    'study/notes.txt',
  ]);

  it('same-stem: pairs by name, keeps the user modality and value names', () => {
    const names = new Map([[1, 'tumour']]);
    const p = planFromMapping(files, {
      imageGlob: 'scans/*.nii.gz',
      maskGlob: '**/seg/*.nii.gz',
      pairBy: 'same-stem',
      modality: 'MR',
      valueNames: names,
    });
    expect(ids(p)).toEqual(['p1', 'p2']);
    expect(byId(p, 'p2')).toMatchObject({
      modality: 'MR',
      image: ['study/scans/p2.nii.gz'],
      labels: { kind: 'labelmap', path: 'study/seg/p2.nii.gz' },
      labelTable: null,
    });
    expect(byId(p, 'p1').labelNames?.get(1)).toBe('tumour');
    expect(reasonOf(p, 'study/scans/p3.nii.gz')).toMatch(/no mask/);
    expect(reasonOf(p, 'study/seg/p9.nii.gz')).toMatch(/mask without an image/);
    expect(reasonOf(p, 'study/notes.txt')).toMatch(/matched neither/);
    expect(p.notes.join(' ')).toMatch(/manual mapping/);
    expectAccounted(p, files);
  });

  it('stem-prefix: one binary mask per structure, components merged by name, longest image name wins', () => {
    const p = planFromMapping(
      folder([
        'img/case1.png',
        'img/case11.png',
        'gt/case1_liver_000.png',
        'gt/case1_liver_001.png',
        'gt/case11-spleen.png',
        'gt/case11_kidney_left_000.png',
        'img/p.png',
        'img/p_a.png',
        'gt/p_a_b.png',
      ]),
      { imageGlob: 'img/*.png', maskGlob: 'gt/*.png', pairBy: 'stem-prefix', modality: 'CT' },
    );
    expect(ids(p)).toEqual(['case1', 'case11', 'p_a']);
    expect(structureNames(byId(p, 'p_a'))).toEqual(['b']);
    expect(reasonOf(p, 'img/p.png')).toMatch(/no mask/);
    expect(structureNames(byId(p, 'case1'))).toEqual(['liver']);
    expect(structureNames(byId(p, 'case11'))).toEqual(['kidney_left', 'spleen']);
    expect(byId(p, 'case1').labels?.kind === 'per-structure' ? byId(p, 'case1').labels : null).toMatchObject({
      files: [
        { path: 'gt/case1_liver_000.png', name: 'liver' },
        { path: 'gt/case1_liver_001.png', name: 'liver' },
      ],
    });
  });

  it('a file matching both patterns goes to the more specific one', () => {
    const p = planFromMapping(folder(['d/a.png', 'd/a_mask.png', 'd/b.png', 'd/b_mask.png']), {
      imageGlob: 'd/*.png',
      maskGlob: 'd/*_mask.png',
      pairBy: 'stem-prefix',
      modality: 'US',
    });
    expect(ids(p)).toEqual(['a', 'b']);
    expect(structureNames(byId(p, 'a'))).toEqual(['mask']);
  });

  it('reports patterns that match nothing, and refuses an empty pattern', () => {
    const p = planFromMapping(files, {
      imageGlob: '*.dcm',
      maskGlob: 'seg/*.nii.gz',
      pairBy: 'same-stem',
      modality: 'CT',
    });
    expect(p.cases).toEqual([]);
    expect(p.notes.join(' ')).toMatch(/image pattern "\*\.dcm" matched no file/);
    expect(() =>
      planFromMapping(files, { imageGlob: '', maskGlob: 'x', pairBy: 'same-stem', modality: 'CT' }),
    ).toThrow(/pattern is empty/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The real folders in test-data/, listed from disk (paths relative to the set's folder).

function listReal(set: string): DatasetFile[] {
  const root = resolve(__dirname, '../../test-data', set);
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [relative(root, p).split('\\').join('/')];
    });
  return folder(walk(root));
}

describe('detectLayout on the real test-data folders', () => {
  it('sam-med2d-demo-ct2d: two slices, structures from file names, hip_left components merged', async () => {
    const files = listReal('sam-med2d-demo-ct2d');
    const p = await detectLayout(files, 'sam-med2d-demo-ct2d');
    expect(p.layout).toBe('images-masks');
    expect(ids(p)).toEqual(['s0114_111', 's0619_32']);
    const a = byId(p, 's0114_111');
    expect(a.image).toEqual(['images/s0114_111.png']);
    expect(structureNames(a)).toHaveLength(15);
    expect(structureNames(a)).toEqual(
      expect.arrayContaining(['aorta', 'rib_left_9', 'vertebrae_T9', 'lung_middle_lobe_right']),
    );
    const b = byId(p, 's0619_32');
    expect(structureNames(b)).toEqual([
      'colon',
      'femur_right',
      'gluteus_maximus_left',
      'gluteus_maximus_right',
      'hip_left',
      'hip_right',
    ]);
    const hipLeft =
      b.labels?.kind === 'per-structure' ? b.labels.files.filter((f) => f.name === 'hip_left') : [];
    expect(hipLeft.map((f) => f.path)).toEqual([
      'masks/s0619_32_hip_left_000.png',
      'masks/s0619_32_hip_left_001.png',
    ]);
    expect(a.modality).toBe('CT'); // "ct2d" in the folder name
    expect(p.notes.join(' ')).toMatch(/folder name/);
    expect(p.skipped.map((s) => s.path).sort()).toEqual(['SHA256SUMS', 'SOURCE.md', 'labels.json']);
    expectAccounted(p, files);
    // Without the folder name nothing tells the modality.
    const anon = await detectLayout(files);
    expect(anon.cases.every((c) => c.modality === null)).toBe(true);
  });

  it('hc18-fetal-head-us: four training cases with pixel sizes from the real csv', async () => {
    const root = resolve(__dirname, '../../test-data/hc18-fetal-head-us');
    const files = listReal('hc18-fetal-head-us').map((f) =>
      f.path.endsWith('.csv')
        ? { ...f, read: () => import('node:fs/promises').then((m) => m.readFile(join(root, f.path))) }
        : f,
    );
    const p = await detectLayout(files);
    expect(p.layout).toBe('hc18');
    expect(ids(p)).toEqual(['000_HC', '001_HC', '010_HC', '100_HC']);
    expect(byId(p, '000_HC').pixelSpacingMm).toBeCloseTo(0.069135804, 9);
    expect(byId(p, '001_HC').pixelSpacingMm).toBeCloseTo(0.08965852, 9);
    expect(p.cases.every((c) => c.labels?.kind === 'outline' && c.labelTable === 'hc18')).toBe(true);
    expect(reasonOf(p, 'derived/000_HC_mask_filled.png')).toMatch(/does not fit the HC18 layout/);
    expectAccounted(p, files, ['training_set_pixel_size_and_HC.csv']);
  });
});
