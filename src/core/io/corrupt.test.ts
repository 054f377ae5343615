import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import {
  corruptFixtures,
  SAMPLE_DIMS,
  sampleFiles,
  sampleValue,
  type CorruptFixture,
} from '../testing/corrupt';
import { detectFormat, readSingleFile } from './index';
import { readNifti } from './nifti';
import { readPng } from './raster';
import { readImageFiles } from './read-any';
import type { InputFile, ReadResult } from './types';

const fixtures = corruptFixtures();

async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function expectRefused(e: unknown, f: CorruptFixture, reader: string): void {
  expect(e, `${reader} accepted ${f.id}`).toBeInstanceOf(AppError);
  const err = e as AppError;
  expect([f.expect].flat(), `${f.id} via ${reader}: ${err.message}`).toContain(err.code);
  expect(err.message, `${f.id} via ${reader}`).toContain(f.file.name);
}

/** The reader a file's extension names. */
function readerByName(f: InputFile): (f: InputFile) => ReadResult {
  if (/\.nii(\.gz)?$/i.test(f.name)) return readNifti;
  if (/\.png$/i.test(f.name)) return readPng;
  throw new Error(`no reader by name for ${f.name}`);
}

describe('the corrupted-file fixture set', () => {
  it('is made of small files with unique ids and names, covering every kind of damage', () => {
    expect(new Set(fixtures.map((f) => f.id)).size).toBe(fixtures.length);
    expect(new Set(fixtures.map((f) => f.file.name)).size).toBe(fixtures.length);
    for (const f of fixtures) expect(f.file.bytes.length, f.id).toBeLessThan(200 * 1024);
    const ids = fixtures.map((f) => f.id).join(' ');
    for (const kind of [/cut/, /oversized/, /named/, /dim|sizes|rows/, /magic|vr-|datatype|type/])
      expect(ids).toMatch(kind);
    for (const prefix of ['nifti-', 'nifti-gz-', 'png-', 'dicom-', 'nrrd-', 'mha-', 'text-'])
      expect(
        fixtures.some((f) => f.id.startsWith(prefix)),
        prefix,
      ).toBe(true);
  });

  it('starts from valid samples that read back to the values they were made from', async () => {
    const s = sampleFiles();
    const [nx, ny, nz] = SAMPLE_DIMS;
    const expected = Array.from({ length: nx * ny * nz }, (_, x) => sampleValue(x));
    for (const f of [s.nifti, s.niftiGz, s.nrrd, s.nrrdGz, s.mha, s.mhaZ]) {
      const r = await readImageFiles([f]);
      expect(r.volume.dims, f.name).toEqual([nx, ny, nz]);
      expect([...r.volume.data], f.name).toEqual(expected);
    }
    const d = await readImageFiles([s.dicom]);
    expect(d.volume.dims).toEqual([nx, ny, 1]);
    expect([...d.volume.data]).toEqual(expected.slice(0, nx * ny));
    const p = await readImageFiles([s.png]);
    expect(p.volume.dims).toEqual([nx, ny, 1]);
    expect([...p.volume.data]).toEqual(Array.from({ length: nx * ny }, (_, i) => (i % 3 === 0 ? 255 : 0)));
  });

  const byContent = fixtures.filter((f) => f.via === 'content');
  it.each(byContent.map((f) => [f.id, f] as const))(
    '%s: refused by the content-first readers with its code, naming the file',
    async (_, f) => {
      expectRefused(await caught(() => readImageFiles([f.file], f.options)), f, 'readImageFiles');
      // readSingleFile sends DICOM to the series reader by design; everything else it must refuse itself.
      if (detectFormat(f.file) !== 'dicom')
        expectRefused(await caught(() => readSingleFile(f.file, f.options)), f, 'readSingleFile');
    },
  );

  const byName = fixtures.filter((f) => f.via === 'extension');
  it.each(byName.map((f) => [f.id, f] as const))(
    '%s: refused by the reader its extension names, opened by content elsewhere',
    async (_, f) => {
      expectRefused(await caught(() => readerByName(f.file)(f.file)), f, 'reader by name');
      const r = await readImageFiles([f.file]);
      expect(r.format).toBe(f.opensAs);
    },
  );

  it('holds no fixture a reader accepts by mistake: each differs from its valid sample', () => {
    const s = sampleFiles();
    const valid = [s.nifti, s.niftiGz, s.png, s.dicom, s.nrrd, s.nrrdGz, s.mha, s.mhaZ];
    const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
    for (const f of byContent)
      expect(
        valid.some((v) => same(v.bytes, f.file.bytes)),
        f.id,
      ).toBe(false);
  });
});

describe('regressions found by the fixture set', () => {
  it('refuses a text file named .dcm as not DICOM (it was sent to readSingleFile and called DICOM)', async () => {
    const f = {
      name: 'notes.dcm',
      bytes: new TextEncoder().encode('plain text, no DICM marker\n'.repeat(8)),
    };
    const e = await caught(() => readImageFiles([f]));
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('corrupt-file');
    expect((e as AppError).message).toMatch(/notes\.dcm is not a DICOM file/);
  });

  it('keeps the truncated-file code of a cut DICOM through readImageFiles (it became corrupt-file)', async () => {
    const dcm = sampleFiles().dicom.bytes;
    const e = await caught(() => readImageFiles([{ name: 'cut.dcm', bytes: dcm.slice(0, dcm.length - 10) }]));
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('truncated-file');
    expect((e as AppError).message).toMatch(/cut\.dcm/);
  });
});
