/**
 * Turns a preset (or files the user dropped) into verified model bytes plus provenance: which files,
 * their SHA-256, where they came from, whether they are test fixtures, what the contract is.
 */
import { AppError } from '../core/errors';
import {
  CONTRACTS,
  detectPart,
  pairParts,
  type ContractId,
  type DetectedPart,
  type ModelFamily,
} from '../core/models/contracts';
import { detectInputScaling, type InputScaling } from '../core/models/input-scaling';
import { isTestFixture, isOrtFixture, readOnnxHeader, type OnnxHeader } from '../core/models/onnx-header';
import { presetFileUrls, type ModelPreset, type Precision } from '../core/models/registry';
import {
  fetchModelFile,
  sha256Hex,
  type DownloadProgress,
  type FetchedFile,
  type ModelCache,
} from './model-fetch';
import type { ModelBytes } from './protocol';

export interface FileProvenance {
  readonly name: string;
  readonly url?: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly fromCache: boolean;
  /** The preset's known hash, when there is one; otherwise the value above is trust-on-first-use. */
  readonly expectedSha256?: string;
}

export interface ModelProvenance {
  readonly id: string;
  readonly label: string;
  readonly family: ModelFamily;
  readonly contract: ContractId;
  readonly precision: Precision | 'unknown';
  readonly source: 'hub' | 'local-files' | 'app';
  readonly repo?: string;
  readonly revision?: string;
  /** True when the graphs are this project's synthetic contract fixtures (never SAM). */
  readonly isFixture: boolean;
  readonly files: readonly FileProvenance[];
  readonly notices: readonly string[];
  /** What the encoder graph does to its input before its first layer, and so what the app feeds it. */
  readonly encoderInput: Pick<InputScaling, 'kind' | 'ops' | 'feeds'>;
}

const scalingRecord = (h: OnnxHeader): ModelProvenance['encoderInput'] => {
  const s = detectInputScaling(h);
  return { kind: s.kind, ops: s.ops, feeds: s.feeds };
};

export interface LoadedModel {
  readonly encoder: ModelBytes;
  readonly decoder: ModelBytes;
  readonly provenance: ModelProvenance;
}

export interface PresetLoadOptions {
  readonly host: string;
  readonly appBase: string;
  readonly cache?: ModelCache | null;
  readonly signal?: AbortSignal;
  readonly onProgress?: (
    p: DownloadProgress & { readonly file: string; readonly fileIndex: number; readonly fileCount: number },
  ) => void;
  readonly fetchImpl?: typeof fetch;
  readonly stallMs?: number;
}

const basename = (p: string) => p.split('/').pop() ?? p;
const dirname = (u: string) => u.slice(0, u.lastIndexOf('/') + 1);

export async function loadPreset(preset: ModelPreset, opts: PresetLoadOptions): Promise<LoadedModel> {
  const urls = presetFileUrls(preset, opts.host, opts.appBase);
  const notices: string[] = [];
  const files: FileProvenance[] = [];
  let index = 0;
  const parts = [
    { role: 'encoder' as const, file: preset.encoder, url: urls.encoder },
    { role: 'decoder' as const, file: preset.decoder, url: urls.decoder },
  ];
  // The preset's list of files is a forecast; each graph's header says which weight files it really
  // references, and the count shown with the progress follows it.
  let fileCount = 2 + parts.reduce((a, p) => a + (p.file.externalData?.length ?? 0), 0);
  const get = async (
    url: string,
    name: string,
    kind: 'model' | 'external-data',
    expectedSha256?: string,
  ): Promise<FetchedFile> => {
    const i = index++;
    const f = await fetchModelFile(url, {
      kind,
      cache: opts.cache ?? null,
      ...(expectedSha256 ? { expectedSha256 } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.fetchImpl ? { fetchImpl: opts.fetchImpl } : {}),
      ...(opts.stallMs ? { stallMs: opts.stallMs } : {}),
      onProgress: (p) => opts.onProgress?.({ ...p, file: name, fileIndex: i, fileCount }),
    });
    if (f.notice && !notices.includes(f.notice)) notices.push(f.notice);
    files.push({
      name,
      url,
      bytes: f.bytes.length,
      sha256: f.sha256,
      fromCache: f.fromCache,
      ...(expectedSha256 ? { expectedSha256 } : {}),
    });
    return f;
  };
  const out: Partial<Record<'encoder' | 'decoder', { bytes: ModelBytes; header: OnnxHeader }>> = {};
  for (const p of parts) {
    const main = await get(p.url, p.file.path, 'model', p.file.sha256);
    const header = main.header ?? readOnnxHeader(main.bytes);
    fileCount += header.externalDataFiles.length - (p.file.externalData?.length ?? 0);
    const externalData: { path: string; data: Uint8Array }[] = [];
    // Fetch exactly what the graph references, next to the graph file.
    for (const ref of header.externalDataFiles) {
      const known = p.file.externalData?.find((e) => basename(e.path) === ref);
      const url = known ? (urls.external[known.path] ?? dirname(p.url) + ref) : dirname(p.url) + ref;
      const ext = await get(url, known?.path ?? ref, 'external-data', known?.sha256);
      externalData.push({ path: ref, data: ext.bytes });
    }
    out[p.role] = { bytes: { bytes: main.bytes, ...(externalData.length ? { externalData } : {}) }, header };
  }
  const enc = out.encoder;
  const dec = out.decoder;
  if (!enc || !dec) throw new AppError('internal', 'model parts missing');
  const contract = contractOf(enc.header, dec.header, preset.contract);
  const isFixture =
    isTestFixture(enc.header) ||
    isTestFixture(dec.header) ||
    isOrtFixture(enc.bytes.bytes) ||
    isOrtFixture(dec.bytes.bytes);
  return {
    encoder: enc.bytes,
    decoder: dec.bytes,
    provenance: {
      id: preset.id,
      label:
        isFixture && !preset.local ? `${preset.label} — TEST FIXTURE served by the model host` : preset.label,
      family: CONTRACTS[contract].family,
      contract,
      precision: preset.precision,
      source: preset.local ? 'app' : 'hub',
      repo: preset.repo,
      revision: preset.revision,
      isFixture,
      files,
      notices,
      encoderInput: scalingRecord(enc.header),
    },
  };
}

/** Contract from the headers when they can be read (ONNX); ORT-format files fall back to the preset's. */
function contractOf(enc: OnnxHeader, dec: OnnxHeader, fallback: ContractId): ContractId {
  const parts: DetectedPart[] = [];
  for (const h of [enc, dec]) if (h.format === 'onnx') parts.push(detectPart(h));
  if (parts.length === 2 && parts[0] && parts[1]) return pairParts(parts[0], parts[1]).contract;
  return parts[0]?.contract ?? fallback;
}

export interface LocalFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/**
 * Local models: `.onnx` graphs (and their external weight files) the user dropped or picked. The
 * contract is detected from the graphs' input/output names, never from the file names.
 */
export async function loadLocalFiles(dropped: readonly LocalFile[]): Promise<LoadedModel> {
  const graphs: { f: LocalFile; header: OnnxHeader; part: DetectedPart }[] = [];
  const others: LocalFile[] = [];
  const errors: string[] = [];
  for (const f of dropped) {
    const looksData = /\.(onnx_data|data|bin|weights)$/i.test(f.name) || /\.onnx\.data$/i.test(f.name);
    if (looksData) {
      others.push(f);
      continue;
    }
    try {
      const header = readOnnxHeader(f.bytes);
      if (header.format === 'ort') {
        errors.push(
          `${f.name}: ORT-format files cannot be recognised from their bytes; use the preset instead.`,
        );
        continue;
      }
      graphs.push({ f, header, part: detectPart(header) });
    } catch (e) {
      errors.push(`${f.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const encoders = graphs.filter((g) => g.part.role === 'encoder');
  const decoders = graphs.filter((g) => g.part.role === 'decoder');
  if (encoders.length !== 1 || decoders.length !== 1) {
    const found =
      graphs.map((g) => `${g.f.name} → ${g.part.contract} ${g.part.role}`).join('; ') ||
      'no recognisable graph';
    throw new AppError(
      'model-contract',
      `Drop one encoder and one decoder of the same export. Found: ${found}.${errors.length ? ` Problems: ${errors.join(' ')}` : ''}`,
      { subject: 'local-files', detail: errors.join('\n') },
    );
  }
  const enc = encoders[0];
  const dec = decoders[0];
  if (!enc || !dec) throw new AppError('internal', 'unreachable');
  const { contract } = pairParts(enc.part, dec.part);
  const files: FileProvenance[] = [];
  const withData = async (g: { f: LocalFile; header: OnnxHeader }): Promise<ModelBytes> => {
    files.push({
      name: g.f.name,
      bytes: g.f.bytes.length,
      sha256: await sha256Hex(g.f.bytes),
      fromCache: false,
    });
    const externalData: { path: string; data: Uint8Array }[] = [];
    for (const ref of g.header.externalDataFiles) {
      const d = others.find((o) => o.name === ref || basename(o.name) === ref);
      if (!d) {
        throw new AppError(
          'model-missing',
          `${g.f.name} keeps its weights in '${ref}': drop that file together with the graph.`,
          { subject: ref },
        );
      }
      files.push({ name: d.name, bytes: d.bytes.length, sha256: await sha256Hex(d.bytes), fromCache: false });
      externalData.push({ path: ref, data: d.bytes });
    }
    return { bytes: g.f.bytes, ...(externalData.length ? { externalData } : {}) };
  };
  const encoder = await withData(enc);
  const decoder = await withData(dec);
  const isFixture = isTestFixture(enc.header) || isTestFixture(dec.header);
  const family = CONTRACTS[contract].family;
  return {
    encoder,
    decoder,
    provenance: {
      id: `local:${enc.f.name}+${dec.f.name}`,
      label: `${isFixture ? 'Test fixture' : family} (local files: ${enc.f.name}, ${dec.f.name})`,
      family,
      contract,
      precision: 'unknown',
      source: 'local-files',
      isFixture,
      files,
      notices: errors,
      encoderInput: scalingRecord(enc.header),
    },
  };
}
