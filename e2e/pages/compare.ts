/** Page object for the comparison view: waits on app state, never on sleeps. */
import { expect, type Page } from '@playwright/test';

export const MODEL_HOST = 'http://127.0.0.1:4174';

type Slot = 'sam' | 'sam2';

interface EngineHandle {
  samCompare: {
    engine: {
      viewer: {
        imageToCanvasPoint: (pane: string, x: number, y: number) => { x: number; y: number } | null;
        canvasToImage: (pane: string, x: number, y: number) => { x: number; y: number } | null;
      } | null;
      selectedMask: (slot: Slot) => { width: number; height: number; data: Uint8Array } | null;
      provenanceRecord: () => Record<string, unknown>;
    };
  };
}

export class ComparePage {
  constructor(readonly page: Page) {}

  async open(query = ''): Promise<void> {
    await this.page.goto(`/?modelHost=${encodeURIComponent(MODEL_HOST)}${query ? `&${query}` : ''}`);
    await expect(this.page.getByTestId('backend-provider')).toHaveText(/WebGPU|WebAssembly/);
  }

  async waitForStudy(name?: RegExp): Promise<void> {
    await expect(this.page.getByTestId('study-info')).toBeVisible({ timeout: 60_000 });
    if (name) await expect(this.page.getByTestId('study-info')).toContainText(name);
  }

  async loadPreset(slot: Slot, presetId: string): Promise<void> {
    await this.page.getByTestId(`preset-${slot}`).selectOption(presetId);
    await this.page.getByTestId(`load-${slot}`).click();
    await expect(this.page.getByTestId(`model-info-${slot}`)).toBeVisible({ timeout: 90_000 });
  }

  async loadFixtures(): Promise<void> {
    await this.loadPreset('sam', 'fixture-sam1-meta');
    await this.loadPreset('sam2', 'fixture-hf-sam2');
  }

  /** Clicks the centre of image pixel (x, y) on a pane; `button: 'right'` adds a negative click. */
  async clickPixel(
    x: number,
    y: number,
    opts: { pane?: Slot; button?: 'left' | 'right' } = {},
  ): Promise<void> {
    const pane = opts.pane ?? 'sam';
    // Mouse events carry whole CSS pixels, and an image pixel may span less than two of them, so the
    // exact centre can round into a neighbour. Pick the whole client point nearest the centre that the
    // app itself maps back to (x, y).
    const p = await this.page.evaluate(
      ([pn, px, py]) => {
        const viewer = (window as unknown as EngineHandle).samCompare.engine.viewer;
        const el = document.querySelector(`[data-testid="viewport-${pn}"]`);
        const c = viewer?.imageToCanvasPoint(pn, px, py);
        if (!viewer || !el || !c) return null;
        const r = el.getBoundingClientRect();
        let best: { x: number; y: number; d: number } | null = null;
        for (let dy = -2; dy <= 2; dy++)
          for (let dx = -2; dx <= 2; dx++) {
            const x = Math.round(r.left + c.x) + dx;
            const y = Math.round(r.top + c.y) + dy;
            const img = viewer.canvasToImage(pn, x - r.left, y - r.top);
            if (!img || Math.round(img.x) !== px || Math.round(img.y) !== py) continue;
            const d = Math.hypot(img.x - px, img.y - py);
            if (!best || d < best.d) best = { x, y, d };
          }
        return best;
      },
      [pane, x, y] as const,
    );
    if (!p) throw new Error(`no whole client point on the ${pane} pane lands in pixel (${x}, ${y})`);
    await this.page.mouse.click(p.x, p.y, { button: opts.button ?? 'left' });
  }

  /** Waits until both models show results for the current prompts. */
  async waitForResults(slots: readonly Slot[] = ['sam', 'sam2'], timeout = 90_000): Promise<void> {
    for (const s of slots) {
      await expect(this.page.getByTestId(`dice-${s}`)).not.toHaveText('—', { timeout });
      await expect(this.page.getByTestId(`status-${s}`)).toHaveText('', { timeout });
    }
  }

  async dice(slot: Slot): Promise<number> {
    return Number(await this.page.getByTestId(`dice-${slot}`).innerText());
  }

  async mask(slot: Slot): Promise<{ width: number; height: number; data: number[] } | null> {
    return this.page.evaluate((s) => {
      const m = (window as unknown as EngineHandle).samCompare.engine.selectedMask(s);
      return m ? { width: m.width, height: m.height, data: Array.from(m.data) } : null;
    }, slot);
  }

  async errorToasts(): Promise<string[]> {
    return this.page.getByTestId('toast-error').allInnerTexts();
  }
}

export function diceOf(a: readonly number[], b: readonly number[]): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    inter += x & y;
    sa += x;
    sb += y;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}
