/**
 * nnU-Net (v1/v2), Medical Segmentation Decathlon and AMOS: `imagesTr/` + `labelsTr/` (also Ts, Va) next to
 * a `dataset.json`. Whether images carry a `_0000` channel suffix is decided by which reading pairs more
 * images with labels (nnU-Net v1 ships MSD-style dataset.json files with suffixed images; AMOS ids
 * `amos_0001` look like a channel suffix).
 */
import type { Modality } from '../../core/image/types';
import type { Detection, Detector } from './assemble';
import {
  IMAGE_EXTS,
  MHD_DATA_EXTS,
  joinPath,
  modalityFromChannelName,
  naturalCompare,
  type Entry,
} from './paths';
import { isRecord, readJson } from './read';
import type { CasePlan, LayoutId, SkippedFile } from './types';

const SPLIT_DIR = /^(images|labels)(tr|ts|va|val)$/i;
const CHANNEL = /^(.+)_(\d{4})$/;
const AMOS_ID = /^amos_(\d+)$/i;

interface DatasetJson {
  readonly name: string | undefined;
  /** Channel index → name, from `channel_names` (v2) or `modality` (MSD, v1). */
  readonly channels: ReadonlyMap<number, string>;
  readonly channelKey: 'channel_names' | 'modality' | null;
  readonly labels: ReadonlyMap<number, string>;
  /** Region-based (nnU-Net v2) labels: several values per name; not usable as names of values. */
  readonly regions: readonly string[];
  readonly fileEnding: string | undefined;
}

function parseDatasetJson(v: unknown, path: string, notes: string[]): DatasetJson {
  if (!isRecord(v)) {
    notes.push(`${path} is not a JSON object; label names and modality are unknown.`);
    return {
      name: undefined,
      channels: new Map(),
      channelKey: null,
      labels: new Map(),
      regions: [],
      fileEnding: undefined,
    };
  }
  const channels = new Map<number, string>();
  const channelKey = isRecord(v.channel_names) ? 'channel_names' : isRecord(v.modality) ? 'modality' : null;
  const ch = isRecord(v.channel_names) ? v.channel_names : isRecord(v.modality) ? v.modality : undefined;
  if (ch !== undefined) {
    for (const [k, name] of Object.entries(ch)) {
      if (/^\d+$/.test(k) && typeof name === 'string') channels.set(Number(k), name);
    }
  }
  const labels = new Map<number, string>();
  const regions: string[] = [];
  if (isRecord(v.labels)) {
    for (const [k, val] of Object.entries(v.labels)) {
      if (typeof val === 'string' && /^\d+$/.test(k)) {
        if (Number(k) !== 0) labels.set(Number(k), val);
      } else if (typeof val === 'number' && Number.isInteger(val) && val >= 0) {
        if (val !== 0) labels.set(val, k);
      } else if (typeof val === 'string' && /^\d+$/.test(val.trim())) {
        if (Number(val) !== 0) labels.set(Number(val), k);
      } else {
        regions.push(k);
      }
    }
  }
  const name = typeof v.name === 'string' && v.name.trim() !== '' ? v.name.trim() : undefined;
  const ending =
    typeof v.file_ending === 'string' ? v.file_ending.replace(/^\./, '').toLowerCase() : undefined;
  return {
    name,
    channels,
    channelKey,
    labels,
    regions,
    fileEnding: ending === '' ? undefined : ending,
  };
}

interface Group {
  readonly images: Map<string, Entry[]>;
  readonly labels: Map<string, Entry[]>;
}

const splitKey = (s: string): string => (s.toLowerCase() === 'val' ? 'va' : s.toLowerCase());

function fixAmosName(n: string): string {
  return n === 'arota' ? 'aorta' : n;
}

export const detectNnunet: Detector = async (fs) => {
  const groups = new Map<string, Group>();
  for (const e of fs.entries) {
    const m = SPLIT_DIR.exec(e.parent);
    if (m === null) continue;
    const dsDir = e.dir.slice(0, Math.max(0, e.dir.length - e.parent.length - 1));
    let g = groups.get(dsDir);
    if (g === undefined) {
      g = { images: new Map(), labels: new Map() };
      groups.set(dsDir, g);
    }
    const bucket = (m[1] ?? '').toLowerCase() === 'images' ? g.images : g.labels;
    const split = splitKey(m[2] ?? '');
    const list = bucket.get(split) ?? [];
    list.push(e);
    bucket.set(split, list);
  }
  if (groups.size === 0 || [...groups.values()].every((g) => g.images.size === 0)) return null;

  const cases: CasePlan[] = [];
  const skipped: SkippedFile[] = [];
  const consumed: string[] = [];
  const notes: string[] = [];
  const layouts = new Set<LayoutId>();
  let jsonName: string | undefined;

  for (const [dsDir, g] of [...groups].sort((a, b) => naturalCompare(a[0], b[0]))) {
    const where = dsDir === '' ? 'the top folder' : dsDir;
    const jsonEntry = fs.byNorm.get(joinPath(dsDir, 'dataset.json'));
    let json: DatasetJson | undefined;
    if (jsonEntry !== undefined) {
      json = parseDatasetJson(await readJson(jsonEntry), jsonEntry.path, notes);
      consumed.push(jsonEntry.path);
      jsonName ??= json.name;
    } else {
      notes.push(
        `No dataset.json in ${where}: modality and label names are unknown (values shown as "label N").`,
      );
    }
    const accepts = (e: Entry): boolean =>
      json?.fileEnding !== undefined ? e.ext === json.fileEnding : IMAGE_EXTS.has(e.ext);
    const ending =
      json?.fileEnding === undefined ? 'an image file (.nii.gz, .mha, .nrrd, .png…)' : `.${json.fileEnding}`;

    const images = new Map<string, Entry[]>();
    const labels = new Map<string, Map<string, Entry>>();
    for (const [split, list] of g.images) {
      const ok: Entry[] = [];
      for (const e of list) {
        if (MHD_DATA_EXTS.has(e.ext)) continue; // read through its .mhd
        if (accepts(e)) ok.push(e);
        else skipped.push({ path: e.path, reason: `not ${ending}, which ${where} uses for images` });
      }
      images.set(split, ok);
    }
    for (const [split, list] of g.labels) {
      const byStem = new Map<string, Entry>();
      for (const e of list) {
        if (MHD_DATA_EXTS.has(e.ext)) continue;
        if (accepts(e)) byStem.set(e.stem, e);
        else skipped.push({ path: e.path, reason: `not ${ending}, which ${where} uses for labels` });
      }
      labels.set(split, byStem);
    }

    // Channel suffix or not: the reading that pairs more images with labels wins.
    let suffixedPairs = 0;
    let plainPairs = 0;
    const suffixes = new Set<string>();
    const prefixes = new Set<string>();
    let allSuffixed = true;
    for (const [split, list] of images) {
      const lab = labels.get(split);
      for (const e of list) {
        const m = CHANNEL.exec(e.stem);
        if (m === null) allSuffixed = false;
        else {
          suffixes.add(m[2] ?? '');
          prefixes.add(m[1] ?? '');
          if (lab?.has(m[1] ?? '') === true) suffixedPairs++;
        }
        if (lab?.has(e.stem) === true) plainPairs++;
      }
    }
    const suffixed =
      suffixedPairs !== plainPairs
        ? suffixedPairs > plainPairs
        : json?.channelKey === 'channel_names'
          ? allSuffixed
          : allSuffixed && suffixes.size > 0 && suffixes.size <= prefixes.size;

    const dsCases: CasePlan[] = [];
    const usedLabels = new Set<string>();
    const channelNotes = new Set<string>();
    for (const [split, list] of [...images].sort((a, b) => naturalCompare(a[0], b[0]))) {
      const lab = labels.get(split);
      const byCase = new Map<string, Map<string, Entry>>();
      for (const e of list) {
        const m = suffixed ? CHANNEL.exec(e.stem) : null;
        if (suffixed && m === null) {
          skipped.push({
            path: e.path,
            reason: 'image name lacks the _0000 channel suffix the other images have',
          });
          continue;
        }
        const id = m === null ? e.stem : (m[1] ?? e.stem);
        const ch = m === null ? '0000' : (m[2] ?? '0000');
        const chans = byCase.get(id) ?? new Map<string, Entry>();
        chans.set(ch, e);
        byCase.set(id, chans);
      }
      const imagesDir = `images${split === 'tr' ? 'Tr' : split === 'ts' ? 'Ts' : 'Va'}`;
      const labelsDir = `labels${imagesDir.slice(6)}`;
      for (const [id, chans] of byCase) {
        const ch0 = chans.get('0000');
        if (ch0 === undefined) {
          for (const e of chans.values()) {
            skipped.push({
              path: e.path,
              reason: `case ${id} has no channel 0000 image; only channel 0000 is used`,
            });
          }
          continue;
        }
        const extra = [...chans.keys()].filter((k) => k !== '0000').sort(naturalCompare);
        for (const k of extra) {
          const e = chans.get(k);
          if (e === undefined) continue;
          const chName = json?.channels.get(Number(k));
          skipped.push({
            path: e.path,
            reason: `channel ${k}${chName === undefined ? '' : ` (${chName})`} of case ${id}: only channel 0000 is used`,
          });
        }
        if (lab === undefined) {
          for (const e of chans.values()) {
            if (e === ch0)
              skipped.push({ path: e.path, reason: `no labels (${imagesDir} has no ${labelsDir} folder)` });
          }
          continue;
        }
        const label = lab.get(id);
        if (label === undefined) {
          skipped.push({
            path: ch0.path,
            reason: `no labels (no ${labelsDir}/${id}.${ch0.ext} for this image)`,
          });
          continue;
        }
        usedLabels.add(label.path);
        const caseNotes: string[] = [];
        if (extra.length > 0) {
          const c0 = json?.channels.get(0);
          const msg = `${extra.length + 1} channels; channel 0000${c0 === undefined ? '' : ` (${c0})`} is used`;
          caseNotes.push(msg);
          channelNotes.add(msg);
        }
        dsCases.push({
          id,
          modality: null,
          image: [ch0.path],
          labels: { kind: 'labelmap', path: label.path },
          labelTable: null,
          ...(caseNotes.length > 0 ? { notes: caseNotes } : {}),
        });
      }
    }
    for (const byStem of labels.values()) {
      for (const e of byStem.values()) {
        if (!usedLabels.has(e.path)) skipped.push({ path: e.path, reason: 'label without a matching image' });
      }
    }

    const amos =
      dsCases.length > 0
        ? dsCases.filter((c) => AMOS_ID.test(c.id)).length * 2 >= dsCases.length
        : [...images.values()].flat().some((e) => /^amos_\d+/i.test(e.stem));
    const layout: LayoutId = amos ? 'amos' : suffixed ? 'nnunet' : 'msd';
    layouts.add(layout);

    const channel0 = json?.channels.get(0);
    const modality: Modality | null = channel0 === undefined ? null : modalityFromChannelName(channel0);
    if (!amos) {
      if (channel0 === undefined)
        notes.push(`${where}: modality unknown (no channel 0 in dataset.json); choose it.`);
      else if (modality === null)
        notes.push(`${where}: modality "${channel0}" is not CT, MR or US; choose it.`);
    }
    if (layout === 'msd' && json !== undefined && json.channels.size > 1) {
      const names = [...json.channels].sort((a, b) => a[0] - b[0]).map((c) => c[1]);
      notes.push(
        `${where}: images hold ${json.channels.size} channels (${names.join(', ')}); channel 0 is used.`,
      );
    }
    for (const n of channelNotes) notes.push(`${where}: ${n}.`);
    if (json !== undefined && json.regions.length > 0) {
      notes.push(
        `${where}: region labels (${json.regions.join(', ')}) name several values at once; they are not used as names.`,
      );
    }

    let labelNames: ReadonlyMap<number, string> | undefined =
      json !== undefined && json.labels.size > 0 ? json.labels : undefined;
    if (amos) {
      notes.push("AMOS: case ids above 500 are MR, the others CT (the dataset's numbering).");
      if (labelNames !== undefined && [...labelNames.values()].includes('arota')) {
        labelNames = new Map([...labelNames].map(([k, n]) => [k, fixAmosName(n)]));
        notes.push('AMOS: dataset.json spells aorta "arota"; shown as "aorta".');
      }
    }
    if (labelNames === undefined && !amos && jsonEntry !== undefined) {
      notes.push(`${where}: dataset.json has no label names; values are shown as "label N".`);
    }

    for (const c of dsCases) {
      const num = AMOS_ID.exec(c.id)?.[1];
      const m: Modality | null = amos
        ? num !== undefined && Number(num) > 500
          ? 'MR'
          : num !== undefined
            ? 'CT'
            : modality
        : modality;
      cases.push({
        ...c,
        modality: m,
        labelTable: amos && labelNames === undefined ? 'amos' : null,
        ...(labelNames === undefined ? {} : { labelNames }),
      });
    }
  }

  const layout: LayoutId = layouts.has('amos') ? 'amos' : layouts.has('nnunet') ? 'nnunet' : 'msd';
  if (layouts.size > 1) notes.push(`The folder mixes ${[...layouts].sort().join(' and ')} datasets.`);
  const detection: Detection = {
    layout,
    defaultName:
      jsonName ?? (layout === 'amos' ? 'AMOS' : layout === 'nnunet' ? 'nnU-Net dataset' : 'MSD dataset'),
    cases,
    skipped,
    consumed,
    notes,
    expected: 'imagesTr/<case>[_0000].nii.gz with labelsTr/<case>.nii.gz',
  };
  return detection;
};
