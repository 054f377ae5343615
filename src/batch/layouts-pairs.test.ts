import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectLayout, type DatasetFile } from './layouts';

function list(root: string): DatasetFile[] {
  const out: DatasetFile[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else
        out.push({
          path: `totalsegmentator-testref/${relative(root, p)}`,
          size: statSync(p).size,
          read: () => Promise.reject(new Error('layout detection must not read images')),
        });
    }
  };
  walk(root);
  return out;
}

describe('image + segmentation per folder', () => {
  it('recognises the TotalSegmentator reference folder: NIfTI pairs and a DICOM series with its seg', async () => {
    const plan = await detectLayout(list('test-data/totalsegmentator-testref'), 'totalsegmentator-testref');
    expect(plan.layout).toBe('folder-pairs');
    expect(plan.cases.map((c) => c.id)).toEqual(['ct_dicom', 'ct_full', 'ct_sm', 'mr_sm']);
    const dicom = plan.cases[0]!;
    expect(dicom.image).toHaveLength(20);
    expect(dicom.labels).toEqual({
      kind: 'labelmap',
      path: 'totalsegmentator-testref/ct_dicom/example_seg_dicom.nii.gz',
    });
    const mr = plan.cases[3]!;
    expect(mr.image).toEqual(['totalsegmentator-testref/mr_sm/example_mr_sm.nii.gz']);
    expect(mr.modality).toBe('MR');
    expect(plan.cases[2]!.modality).toBe('CT');
  });

  it('ignores folders with two candidate images or no segmentation', async () => {
    const f = (path: string): DatasetFile => ({ path, size: 1, read: () => Promise.reject(new Error('no')) });
    const plan = await detectLayout(
      [f('d/a/one.nii.gz'), f('d/a/two.nii.gz'), f('d/a/seg.nii.gz'), f('d/b/img.nii.gz')],
      'd',
    );
    expect(plan.cases).toHaveLength(0);
  });
});
