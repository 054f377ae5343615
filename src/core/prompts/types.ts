import type { ImagePx } from '../geometry';

/** 1 positive, 0 negative: the labels both model families share for clicks. */
export type PointLabel = 0 | 1;

export type PromptPoint = ImagePx & { readonly label: PointLabel };

/** Inclusive pixel-index corners in ImagePx (x0 ≤ x1, y0 ≤ y1). */
export interface PromptBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** One decoder call's worth of prompts. */
export interface PromptSet {
  readonly points: readonly PromptPoint[];
  readonly box?: PromptBox;
}

export function promptPoint(x: number, y: number, label: PointLabel): PromptPoint {
  return { x, y, label } as PromptPoint;
}

/** `[[x, y, label], …]`, the export format of the results table. */
export function pointsToJson(p: PromptSet): string {
  return JSON.stringify(p.points.map((q) => [q.x, q.y, q.label]));
}
