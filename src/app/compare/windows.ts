/** The window presets the compare view offers, and the one a study opens with. */
import { CT_PRESETS, windowBounds, type IntensityWindow } from '../../core/image/intensity';
import type { Modality } from '../../core/image/types';

export interface WindowPreset {
  readonly id: string;
  readonly label: string;
  readonly window: IntensityWindow;
}

export function windowPresets(is8bit: boolean): WindowPreset[] {
  return [
    ...CT_PRESETS.map((p): WindowPreset => ({
      id: p.id,
      label: `CT ${p.label}`,
      window: { kind: 'window', center: p.center, width: p.width },
    })),
    {
      id: 'percentile',
      label: 'Percentile 0.5–99.5 (slice)',
      window: { kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'slice' },
    },
    {
      id: 'percentile-volume',
      label: 'Percentile 0.5–99.5 (volume)',
      window: { kind: 'percentile', lower: 0.5, upper: 99.5, scope: 'volume' },
    },
    ...(is8bit
      ? [{ id: 'identity', label: '8-bit as stored', window: { kind: 'identity' } as IntensityWindow }]
      : []),
  ];
}

export function windowPresetById(id: string, is8bit: boolean): WindowPreset {
  const all = windowPresets(is8bit);
  return (
    all.find((p) => p.id === id) ??
    all[0] ?? {
      id: 'abdomen',
      label: 'abdomen',
      window: { kind: 'window', ...windowBounds(40, 400), center: 40, width: 400 },
    }
  );
}

export function defaultPreset(m: Modality, is8bit: boolean): WindowPreset {
  if (is8bit) return windowPresetById('identity', true);
  return windowPresetById(m === 'CT' ? 'abdomen' : 'percentile', false);
}
