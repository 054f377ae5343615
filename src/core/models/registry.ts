/**
 * Real model presets (shared docs: model-contracts.md, "Where real models live"). Sizes are approximate,
 * from the hub's listings, for display and sanity bounds only: the exact size comes from the response.
 * Commit ids and SHA-256 values are not known here and are never invented: revisions are `main`, hashes
 * unset, and the SHA-256 computed at first download is recorded and shown (trust on first use).
 */
import type { ContractId, ModelFamily } from './contracts';

export type Precision = 'fp32' | 'fp16' | 'int8' | 'q8' | 'fixture';

export interface PresetFile {
  readonly path: string;
  /** Approximate size in bytes (display, sanity bounds). */
  readonly approxBytes: number;
  /** Known SHA-256, hex; unset when unknown (never invented). */
  readonly sha256?: string;
  /** External weight files the graph references, downloaded beside it. */
  readonly externalData?: readonly {
    readonly path: string;
    readonly approxBytes: number;
    readonly sha256?: string;
  }[];
}

export interface ModelPreset {
  readonly id: string;
  readonly label: string;
  readonly family: ModelFamily;
  readonly contract: ContractId;
  readonly repo: string;
  readonly revision: string;
  readonly precision: Precision;
  readonly encoder: PresetFile;
  readonly decoder: PresetFile;
  /** Million parameters of the full model, where published. */
  readonly paramsM?: number;
  readonly license: string;
  readonly notes?: string;
  /** Served by this app itself (the contract fixtures), never from the model host. */
  readonly local?: boolean;
}

const MB = 1_000_000;

export const MODEL_PRESETS: readonly ModelPreset[] = [
  {
    id: 'sam-vit-b-int8',
    label: 'SAM ViT-B (int8)',
    family: 'SAM',
    contract: 'sam1-meta',
    repo: 'schmuell/sam-b-fp16',
    revision: 'main',
    precision: 'int8',
    encoder: { path: 'sam_vit_b-encoder-int8.onnx', approxBytes: 108 * MB },
    decoder: { path: 'sam_vit_b-decoder-int8.onnx', approxBytes: 5 * MB },
    paramsM: 93.7,
    license: 'Apache-2.0 (Meta SAM weights)',
    notes:
      "Meta's decoder export with a samexporter encoder, int8-quantised: the smallest ViT-B, good on WebAssembly.",
  },
  {
    id: 'sam-vit-b-fp16',
    label: 'SAM ViT-B (fp16)',
    family: 'SAM',
    contract: 'sam1-meta',
    repo: 'schmuell/sam-b-fp16',
    revision: 'main',
    precision: 'fp16',
    encoder: { path: 'sam_vit_b_01ec64.encoder-fp16.onnx', approxBytes: 180 * MB },
    decoder: { path: 'sam_vit_b_01ec64.decoder.onnx', approxBytes: 17 * MB },
    paramsM: 93.7,
    license: 'Apache-2.0 (Meta SAM weights)',
    notes: 'Half-precision encoder: best on WebGPU.',
  },
  {
    id: 'sam-vit-b-hf-q8',
    label: 'SAM ViT-B (transformers.js, q8)',
    notes: 'No box input on this revision: box prompts are skipped for this model and say so.',
    family: 'SAM',
    contract: 'hf-sam',
    repo: 'Xenova/sam-vit-base',
    revision: 'main',
    precision: 'q8',
    encoder: { path: 'onnx/vision_encoder_quantized.onnx', approxBytes: 101 * MB },
    decoder: { path: 'onnx/prompt_encoder_mask_decoder_quantized.onnx', approxBytes: 4.9 * MB },
    paramsM: 93.7,
    license: 'Apache-2.0',
  },
  {
    id: 'slimsam-77-q8',
    label: 'SlimSAM-77 (q8)',
    family: 'SAM',
    contract: 'hf-sam',
    repo: 'Xenova/slimsam-77-uniform',
    revision: 'main',
    precision: 'q8',
    encoder: { path: 'onnx/vision_encoder_quantized.onnx', approxBytes: 9 * MB },
    decoder: { path: 'onnx/prompt_encoder_mask_decoder_quantized.onnx', approxBytes: 4.9 * MB },
    license: 'Apache-2.0',
    notes:
      'A pruned SAM ViT-B (77% fewer parameters): fast, lower quality. No box input on this revision: box prompts are skipped for this model.',
  },
  {
    id: 'sam2.1-tiny-q8',
    label: 'SAM 2.1 Hiera-tiny (q8)',
    family: 'SAM 2',
    contract: 'hf-sam2',
    repo: 'onnx-community/sam2.1-hiera-tiny-ONNX',
    revision: 'main',
    precision: 'q8',
    // The quantized graphs keep their weights in `.onnx_data` files too (shared model-contracts.md);
    // the split between graph and weights is approximate (≈ 62 MB in all).
    encoder: {
      path: 'onnx/vision_encoder_quantized.onnx',
      approxBytes: 1 * MB,
      externalData: [{ path: 'onnx/vision_encoder_quantized.onnx_data', approxBytes: 51 * MB }],
    },
    decoder: {
      path: 'onnx/prompt_encoder_mask_decoder_quantized.onnx',
      approxBytes: 1 * MB,
      externalData: [{ path: 'onnx/prompt_encoder_mask_decoder_quantized.onnx_data', approxBytes: 9 * MB }],
    },
    paramsM: 38.9,
    license: 'Apache-2.0',
  },
  {
    id: 'sam2.1-tiny-fp32',
    label: 'SAM 2.1 Hiera-tiny (fp32)',
    family: 'SAM 2',
    contract: 'hf-sam2',
    repo: 'onnx-community/sam2.1-hiera-tiny-ONNX',
    revision: 'main',
    precision: 'fp32',
    // The fp32 graphs keep their weights in external data files (134,084,864 and 20,958,208 bytes).
    encoder: {
      path: 'onnx/vision_encoder.onnx',
      approxBytes: 1 * MB,
      externalData: [{ path: 'onnx/vision_encoder.onnx_data', approxBytes: 134_084_864 }],
    },
    decoder: {
      path: 'onnx/prompt_encoder_mask_decoder.onnx',
      approxBytes: 1 * MB,
      externalData: [{ path: 'onnx/prompt_encoder_mask_decoder.onnx_data', approxBytes: 20_958_208 }],
    },
    paramsM: 38.9,
    license: 'Apache-2.0',
  },
  {
    id: 'sam2.1-small-q8',
    label: 'SAM 2.1 Hiera-small (q8)',
    family: 'SAM 2',
    contract: 'hf-sam2',
    repo: 'onnx-community/sam2.1-hiera-small-ONNX',
    revision: 'main',
    precision: 'q8',
    encoder: {
      path: 'onnx/vision_encoder_quantized.onnx',
      approxBytes: 1 * MB,
      externalData: [{ path: 'onnx/vision_encoder_quantized.onnx_data', approxBytes: 59 * MB }],
    },
    decoder: {
      path: 'onnx/prompt_encoder_mask_decoder_quantized.onnx',
      approxBytes: 1 * MB,
      externalData: [{ path: 'onnx/prompt_encoder_mask_decoder_quantized.onnx_data', approxBytes: 9 * MB }],
    },
    paramsM: 46,
    license: 'Apache-2.0',
  },
  {
    id: 'sam2-tiny-samexporter',
    label: 'SAM 2 Hiera-tiny (samexporter)',
    family: 'SAM 2',
    contract: 'sam2-samexporter',
    repo: 'g-ronimo/sam2-tiny',
    revision: 'main',
    precision: 'fp32',
    encoder: { path: 'sam2_hiera_tiny_encoder.with_runtime_opt.ort', approxBytes: 134 * MB },
    // next-sam's current decoder (commit 4c28597). The repository's `sam2_hiera_tiny_decoder.onnx` is its
    // first export, with an extra `orig_im_size` input: the app refuses that file by name.
    decoder: { path: 'sam2_hiera_tiny_decoder_pr1.onnx', approxBytes: 20.6 * MB },
    paramsM: 38.9,
    license: 'Apache-2.0',
    notes:
      'The original SAM 2 (not 2.1) in the samexporter layout used by next-sam and webgpu-sam2; the encoder is in ORT format.',
  },
];

/** The app's own generated contract fixtures, served from ./fixtures/. Always labelled as such. */
export const FIXTURE_PRESETS: readonly ModelPreset[] = (
  ['sam1-meta', 'hf-sam', 'sam2-samexporter', 'hf-sam2'] as const
).map((c) => ({
  id: `fixture-${c}`,
  label: `Test fixture — ${c} contract (not SAM)`,
  family: c.includes('2') ? 'SAM 2' : 'SAM',
  contract: c,
  repo: 'fixtures',
  revision: 'local',
  precision: 'fixture',
  encoder: { path: `${c}/encoder.onnx`, approxBytes: 8_000 },
  decoder: { path: `${c}/decoder.onnx`, approxBytes: 14_000 },
  license: 'generated by this project',
  notes:
    'A synthetic graph with the real I/O contract that segments by colour similarity. Not SAM: for testing and offline demos only.',
  local: true,
}));

export const DEFAULT_PRESETS = { sam: 'sam-vit-b-int8', sam2: 'sam2.1-tiny-q8' } as const;

export const ALL_PRESETS: readonly ModelPreset[] = [...MODEL_PRESETS, ...FIXTURE_PRESETS];

export function presetById(id: string): ModelPreset | undefined {
  return ALL_PRESETS.find((p) => p.id === id);
}

export const DEFAULT_MODEL_HOST = 'https://huggingface.co';

/** `{host}/{repo}/resolve/{revision}/{file}`, the hub's download layout. */
export function hubUrl(host: string, repo: string, revision: string, file: string): string {
  return `${host.replace(/\/+$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export function presetFileUrls(
  p: ModelPreset,
  host: string,
  appBase: string,
): { encoder: string; decoder: string; external: Record<string, string> } {
  const url = (f: string) =>
    p.local ? new URL(`fixtures/${f}`, appBase).href : hubUrl(host, p.repo, p.revision, f);
  const external: Record<string, string> = {};
  for (const f of [p.encoder, p.decoder])
    for (const e of f.externalData ?? []) external[e.path] = url(e.path);
  return { encoder: url(p.encoder.path), decoder: url(p.decoder.path), external };
}

export function approxTotalBytes(p: ModelPreset): number {
  const f = (x: PresetFile) => x.approxBytes + (x.externalData ?? []).reduce((a, e) => a + e.approxBytes, 0);
  return f(p.encoder) + f(p.decoder);
}
