/** The window presets the compare view offers (core's one catalogue), and the one a study opens with. */
import { WINDOW_CHOICES, type IntensityWindow } from '../../core/image/intensity';
import type { Modality } from '../../core/image/types';

export interface WindowPreset {
  readonly id: string;
  readonly label: string;
  readonly window: IntensityWindow;
}

/** Every named window of the catalogue (not `auto`, which the viewer resolves per study itself). */
export function windowPresets(is8bit: boolean): WindowPreset[] {
  return WINDOW_CHOICES.flatMap((c) =>
    c.window && (!c.only8bit || is8bit) ? [{ id: c.id, label: c.label, window: c.window }] : [],
  );
}

export function windowPresetById(id: string, is8bit: boolean): WindowPreset {
  const all = windowPresets(is8bit);
  const found = all.find((p) => p.id === id) ?? all[0];
  if (!found) throw new Error('the window catalogue is empty');
  return found;
}

export function defaultPreset(m: Modality, is8bit: boolean): WindowPreset {
  if (is8bit) return windowPresetById('identity', true);
  return windowPresetById(m === 'CT' ? 'abdomen' : 'percentile', false);
}
