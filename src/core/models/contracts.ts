import { AppError } from '../errors';
import type { FrameKind } from '../geometry';

/** The ONNX export families the app understands (docs: shared model-contracts.md). */
export type ContractId = 'sam1-meta' | 'sam2-samexporter' | 'hf-sam' | 'hf-sam2';
export type ModelFamily = 'SAM' | 'SAM 2';

export interface ContractInfo {
  readonly id: ContractId;
  readonly family: ModelFamily;
  readonly label: string;
  readonly frame: FrameKind;
  /** Encoder outputs the decoder consumes, by name (never by position). */
  readonly embeddingNames: readonly string[];
  /** Whether several prompt sets can go through one decoder call (L > 1). */
  readonly batchesPromptSets: boolean;
  readonly supportsBox: boolean;
  /** Meta's single-mask token (index 0 of 4) is available for the `single` selection rule. */
  readonly hasSingleMaskToken: boolean;
}

export const CONTRACTS: Readonly<Record<ContractId, ContractInfo>> = {
  'sam1-meta': {
    id: 'sam1-meta',
    family: 'SAM',
    label: "SAM (Meta's ONNX decoder + samexporter encoder)",
    frame: 'longest-side',
    embeddingNames: ['image_embeddings'],
    batchesPromptSets: false,
    supportsBox: true,
    hasSingleMaskToken: true,
  },
  'sam2-samexporter': {
    id: 'sam2-samexporter',
    family: 'SAM 2',
    label: 'SAM 2 (samexporter)',
    frame: 'stretch',
    embeddingNames: ['image_embed', 'high_res_feats_0', 'high_res_feats_1'],
    batchesPromptSets: true,
    supportsBox: true,
    hasSingleMaskToken: false,
  },
  'hf-sam': {
    id: 'hf-sam',
    family: 'SAM',
    label: 'SAM (transformers.js / Xenova layout)',
    frame: 'longest-side-floor',
    embeddingNames: ['image_embeddings', 'image_positional_embeddings'],
    batchesPromptSets: true,
    supportsBox: true,
    hasSingleMaskToken: false,
  },
  'hf-sam2': {
    id: 'hf-sam2',
    family: 'SAM 2',
    label: 'SAM 2.1 (transformers.js / onnx-community layout)',
    frame: 'stretch',
    embeddingNames: ['image_embeddings.0', 'image_embeddings.1', 'image_embeddings.2'],
    batchesPromptSets: true,
    supportsBox: true,
    hasSingleMaskToken: false,
  },
};

export interface GraphSignature {
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Rank of each input where known (distinguishes samexporter's preprocess-in-graph encoder). */
  readonly inputRanks?: Readonly<Record<string, number>>;
}

export type ModelRole = 'encoder' | 'decoder';

export interface DetectedPart {
  readonly contract: ContractId;
  readonly role: ModelRole;
  /** sam1-meta encoder exported with `--use-preprocess`: takes the resized HWC 0–255 image. */
  readonly preprocessInGraph?: boolean;
}

const hasAll = (have: readonly string[], want: readonly string[]) => want.every((w) => have.includes(w));

/**
 * Every input each decoder contract may have (shared model-contracts.md). A graph that matches a
 * contract's names but has more inputs is another export, whose extra inputs the app would never feed:
 * it is refused by name rather than failing on every click.
 */
export const DECODER_INPUTS: Readonly<Record<ContractId, readonly string[]>> = {
  'sam1-meta': [
    'image_embeddings',
    'point_coords',
    'point_labels',
    'mask_input',
    'has_mask_input',
    'orig_im_size',
  ],
  'sam2-samexporter': [
    'image_embed',
    'high_res_feats_0',
    'high_res_feats_1',
    'point_coords',
    'point_labels',
    'mask_input',
    'has_mask_input',
  ],
  // `input_boxes` is optional: Xenova's SAM graphs on the hub's main revision have none.
  'hf-sam': [
    'image_embeddings',
    'image_positional_embeddings',
    'input_points',
    'input_labels',
    'input_boxes',
  ],
  'hf-sam2': [
    'image_embeddings.0',
    'image_embeddings.1',
    'image_embeddings.2',
    'input_points',
    'input_labels',
    'input_boxes',
  ],
};

/** Why a known variant with extra inputs is refused, and what to use instead. */
const VARIANT_HINTS: Readonly<Record<string, string>> = {
  'sam2-samexporter|orig_im_size':
    "This is next-sam's first SAM 2 decoder export (g-ronimo/sam2-tiny sam2_hiera_tiny_decoder.onnx), which takes the image size and returns full-size masks; use sam2_hiera_tiny_decoder_pr1.onnx from the same repository (or a samexporter export).",
};

function decoder(contract: ContractId, inputs: readonly string[]): DetectedPart {
  const allowed = DECODER_INPUTS[contract];
  const extra = inputs.filter((n) => !allowed.includes(n));
  if (extra.length) {
    const hint = extra.map((e) => VARIANT_HINTS[`${contract}|${e}`]).find((h) => h !== undefined);
    throw new AppError(
      'model-contract',
      `This ${CONTRACTS[contract].label} decoder has unexpected input${extra.length > 1 ? 's' : ''} ${extra.map((e) => `'${e}'`).join(', ')} that the ${contract} contract does not have, so the app cannot feed it. ${hint ?? 'Use an export with the published contract (see the model guide).'}`,
      { subject: 'contract', detail: `inputs [${inputs.join(', ')}]` },
    );
  }
  return { contract, role: 'decoder' };
}

/**
 * Recognises an ONNX graph by its input/output names, so a dropped file is identified by what it is,
 * not by its file name. Throws a typed error listing what was found when nothing matches, or when a
 * decoder has inputs its contract does not know.
 */
export function detectPart(sig: GraphSignature): DetectedPart {
  const { inputs, outputs } = sig;
  // Decoders first: their inputs include the encoder outputs' names.
  if (
    hasAll(inputs, [
      'image_embeddings',
      'point_coords',
      'point_labels',
      'mask_input',
      'has_mask_input',
      'orig_im_size',
    ]) &&
    hasAll(outputs, ['masks', 'iou_predictions'])
  ) {
    return decoder('sam1-meta', inputs);
  }
  if (
    hasAll(inputs, ['image_embed', 'high_res_feats_0', 'high_res_feats_1', 'point_coords', 'point_labels']) &&
    hasAll(outputs, ['masks', 'iou_predictions'])
  ) {
    return decoder('sam2-samexporter', inputs);
  }
  if (
    hasAll(inputs, [
      'image_embeddings.0',
      'image_embeddings.1',
      'image_embeddings.2',
      'input_points',
      'input_labels',
    ]) &&
    hasAll(outputs, ['iou_scores', 'pred_masks'])
  ) {
    return decoder('hf-sam2', inputs);
  }
  if (
    hasAll(inputs, ['image_embeddings', 'image_positional_embeddings', 'input_points', 'input_labels']) &&
    hasAll(outputs, ['iou_scores', 'pred_masks'])
  ) {
    return decoder('hf-sam', inputs);
  }
  if (inputs.length === 1 && inputs[0] === 'input_image' && outputs.includes('image_embeddings')) {
    const rank = sig.inputRanks?.['input_image'];
    return rank === 3
      ? { contract: 'sam1-meta', role: 'encoder', preprocessInGraph: true }
      : { contract: 'sam1-meta', role: 'encoder' };
  }
  if (
    inputs.length === 1 &&
    inputs[0] === 'image' &&
    hasAll(outputs, ['high_res_feats_0', 'high_res_feats_1', 'image_embed'])
  ) {
    return { contract: 'sam2-samexporter', role: 'encoder' };
  }
  if (inputs.length === 1 && inputs[0] === 'pixel_values') {
    if (hasAll(outputs, ['image_embeddings.0', 'image_embeddings.1', 'image_embeddings.2']))
      return { contract: 'hf-sam2', role: 'encoder' };
    if (hasAll(outputs, ['image_embeddings', 'image_positional_embeddings']))
      return { contract: 'hf-sam', role: 'encoder' };
  }
  const found = `inputs [${inputs.join(', ')}], outputs [${outputs.join(', ')}]`;
  if (hasAll(outputs, ['image_features_0', 'image_features_1']) || inputs.includes('original_image_size')) {
    throw new AppError(
      'model-contract',
      `This looks like onnxruntime's own SAM 2 export (ort-sam2), which this app does not run yet. Found ${found}. Use a samexporter or onnx-community export.`,
      { subject: 'contract', detail: found },
    );
  }
  throw new AppError(
    'model-contract',
    `Not a SAM or SAM 2 encoder/decoder this app recognises. Found ${found}. Supported: sam1-meta, sam2-samexporter, hf-sam, hf-sam2 (see the model guide).`,
    { subject: 'contract', detail: found },
  );
}

/** Checks that an encoder and a decoder belong together. */
export function pairParts(
  a: DetectedPart,
  b: DetectedPart,
): { contract: ContractId; encoder: DetectedPart; decoder: DetectedPart } {
  const encoder = a.role === 'encoder' ? a : b;
  const decoder = a.role === 'decoder' ? a : b;
  if (encoder.role !== 'encoder' || decoder.role !== 'decoder') {
    throw new AppError('model-contract', `Need one encoder and one decoder; got two ${a.role}s.`, {
      subject: 'contract',
    });
  }
  if (encoder.contract !== decoder.contract) {
    throw new AppError(
      'model-contract',
      `The encoder is ${encoder.contract} but the decoder is ${decoder.contract}; pick files from the same export.`,
      { subject: 'contract' },
    );
  }
  return { contract: encoder.contract, encoder, decoder };
}
