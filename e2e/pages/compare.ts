/** Page object for the comparison view: waits on app state, never on sleeps. */
import { expect, type Page } from '@playwright/test';

export const MODEL_HOST = 'http://127.0.0.1:4174';

type Slot = 'sam' | 'sam2';

interface EngineHandle {
  samCompare: {
    engine: {
      viewer: {
        imageToCanvasPoint: (pane: string, x: number, y: number) => { x: number; y: number } | null;
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
    const p = await this.page.evaluate(
      ([pn, px, py]) =>
        (window as unknown as EngineHandle).samCompare.engine.viewer?.imageToCanvasPoint(
          pn as string,
          px,
          py,
        ) ?? null,
      [pane, x, y] as const,
    );
    if (!p) throw new Error('viewer not ready');
    const box = await this.page.getByTestId(`viewport-${pane}`).boundingBox();
    if (!box) throw new Error('viewport not visible');
    await this.page.mouse.click(box.x + p.x, box.y + p.y, { button: opts.button ?? 'left' });
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
