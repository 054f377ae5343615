import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { InputFile } from '../io/types';
import { baseName, planInputs, readSideFiles, type InputPlan } from './inputs';

const file = (name: string, text = 'x'): InputFile => ({ name, bytes: new TextEncoder().encode(text) });
/** A DICOM Part 10 preamble with nothing parseable after it: a DICOM file, not a SEG. */
const dicom = (name: string): InputFile => {
  const bytes = new Uint8Array(140);
  bytes.set([0x44, 0x49, 0x43, 0x4d], 128);
  return { name, bytes };
};
const names = (fs: readonly InputFile[]) => fs.map((f) => f.name);
function study(p: InputPlan) {
  if (p.kind !== 'study') throw new Error('expected a study plan');
  return p;
}

describe('planInputs', () => {
  it('takes the one file as the image, even with a mask-like name', () => {
    const p = study(planInputs([file('case_seg.nii')], 'auto'));
    expect(p.image).toMatchObject({ kind: 'file', file: { name: 'case_seg.nii' } });
    expect(p.imageName).toBe('case_seg.nii');
    expect(p.masks).toEqual([]);
    expect(p.seg).toBeNull();
  });

  it('picks the first file whose name is not a mask as the image; the others are masks', () => {
    const p = study(
      planInputs([file('d/liver_mask.png'), file('d/case.png'), file('d/kidney_mask.png')], 'auto'),
    );
    expect(p.image).toMatchObject({ kind: 'file', file: { name: 'd/case.png' } });
    expect(p.imageName).toBe('case.png');
    expect(names(p.masks)).toEqual(['d/liver_mask.png', 'd/kidney_mask.png']);
  });

  it('falls back to the first file when every name looks like a mask', () => {
    const p = study(planInputs([file('a_seg.nii'), file('b_label.nii')], 'auto'));
    expect(p.imageName).toBe('a_seg.nii');
    expect(names(p.masks)).toEqual(['b_label.nii']);
  });

  it('keeps raw companions of a detached header with the image, not among the masks', () => {
    const p = study(planInputs([file('ct.mhd'), file('ct.raw'), file('ct_seg.nii')], 'auto'));
    expect(p.image).toMatchObject({ kind: 'file', file: { name: 'ct.mhd' } });
    if (p.image.kind !== 'file') throw new Error('file image expected');
    expect(names(p.image.companions)).toEqual(['ct.raw']);
    expect(names(p.masks)).toEqual(['ct_seg.nii']);
  });

  it('role "image" takes the first file and no masks', () => {
    const p = study(planInputs([file('x_mask.png'), file('y.png')], 'image'));
    expect(p.imageName).toBe('x_mask.png');
    expect(p.masks).toEqual([]);
  });

  it('a DICOM series is the image; the other data files are its masks', () => {
    const p = study(planInputs([dicom('s/1.dcm'), file('s/liver_mask.nii'), dicom('s/2')], 'auto'));
    expect(p.image.kind).toBe('dicom');
    if (p.image.kind !== 'dicom') throw new Error('dicom image expected');
    expect(names(p.image.files)).toEqual(['s/1.dcm', 's/2']);
    expect(p.imageName).toBe('DICOM series (2 files)');
    expect(names(p.masks)).toEqual(['s/liver_mask.nii']);
  });

  it('role "gt" gives every data file as a mask and reads the side files', () => {
    const p = planInputs(
      [file('m/liver.nii'), file('m/labels.json', '{"1": "liver"}'), file('m/notes.txt')],
      'gt',
    );
    expect(p.kind).toBe('gt');
    expect(names(p.masks)).toEqual(['m/liver.nii']);
    expect([...p.side.names]).toEqual([[1, 'liver']]);
  });

  it("reads structure names from dcmqi's segmentation meta JSON (SegmentLabel, else the description)", () => {
    // The shape of dcmqi's doc/schemas/seg-example.json: one inner array per label-map file.
    const meta = JSON.stringify({
      ContentCreatorName: 'Doe^John',
      segmentAttributes: [
        [
          { labelID: 1, SegmentLabel: 'Liver', SegmentDescription: 'Liver Segmentation' },
          {
            labelID: 2,
            SegmentDescription: 'Spine',
            SegmentedPropertyTypeCodeSequence: { CodeMeaning: 'Vertebra' },
          },
          { labelID: 3, SegmentedPropertyTypeCodeSequence: { CodeValue: '80891009', CodeMeaning: 'Heart' } },
        ],
        [{ labelID: 1, SegmentLabel: 'second file, same id' }],
      ],
    });
    const p = planInputs([file('m/seg.nrrd'), file('m/seg-meta.json', meta)], 'gt');
    expect([...p.side.names]).toEqual([
      [1, 'Liver'],
      [2, 'Spine'],
      [3, 'Heart'],
    ]);
  });

  it('side files never become the image or a mask', () => {
    const p = study(planInputs([file('pixel_size.csv', 'filename,pixel size(mm)\n'), file('a.png')], 'auto'));
    expect(p.imageName).toBe('a.png');
    expect(p.masks).toEqual([]);
  });

  it('says so when nothing can be the image', () => {
    expect(() => planInputs([file('only.csv', 'a,b\n')], 'auto')).toThrow(AppError);
  });
});

describe('readSideFiles and baseName', () => {
  it('reads pixel sizes by base name from a CSV', () => {
    const side = readSideFiles([
      file(
        'training_set_pixel_size_and_HC.csv',
        'filename,pixel size(mm),head circumference (mm)\n001_HC.png,0.0691,44.3\n',
      ),
    ]);
    expect(side.spacing.get('001_HC.png')).toBeCloseTo(0.0691);
  });

  it('baseName is the last path component', () => {
    expect(baseName('a/b/c.nii')).toBe('c.nii');
    expect(baseName('c.nii')).toBe('c.nii');
  });
});
