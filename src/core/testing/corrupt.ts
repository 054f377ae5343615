/**
 * A corrupted-file fixture set, built in memory from small valid files it makes itself (NIfTI, .nii.gz,
 * PNG, DICOM, NRRD, MetaImage): truncations at several offsets, flipped header fields, wrong extensions and
 * oversized declarations, each with the error code a reader must give. Pure (no Node APIs), so unit tests
 * and the Playwright specs can share it. Every file is a few KiB at most.
 */
import { encode as encodePng } from 'fast-png';
import { gzipSync, zlibSync } from 'fflate';
import type { ErrorCode } from '../errors';
import type { ImageFormat, InputFile, ReadOptions } from '../io/types';
import { el, encodeDicomFile, imageDataSet, seq } from './dicom';
import { writeNifti } from '../io/nifti-write';

export interface CorruptFixture {
  /** Stable, unique, file-name safe. */
  readonly id: string;
  readonly description: string;
  readonly file: InputFile;
  /** The error code (or any of the codes) the reader must throw. */
  readonly expect: ErrorCode | readonly ErrorCode[];
  /**
   * 'content': the app's entry points, which detect the format from the bytes (readImageFiles, and
   * readSingleFile for anything not DICOM), must refuse the file.
   * 'extension': the bytes are a valid file of another format (`opensAs`), which those entry points open;
   * only the reader its extension names (readNifti for .nii, readPng for .png) must refuse it.
   */
  readonly via: 'content' | 'extension';
  readonly opensAs?: ImageFormat;
  /** Options to read with (a budget), when not the defaults. */
  readonly options?: ReadOptions;
}

/** The valid files the fixtures are made from. */
export interface SampleFiles {
  readonly nifti: InputFile;
  readonly niftiGz: InputFile;
  readonly png: InputFile;
  readonly dicom: InputFile;
  readonly nrrd: InputFile;
  readonly nrrdGz: InputFile;
  readonly mha: InputFile;
  readonly mhaZ: InputFile;
}

export const SAMPLE_DIMS = [8, 6, 4] as const;
const [NX, NY, NZ] = SAMPLE_DIMS;
const N = NX * NY * NZ;

/** Voxel value of sample volume index x (distinct values, some negative). */
export function sampleValue(x: number): number {
  return ((x * 37) % 500) - 120;
}

const text = (s: string) => new TextEncoder().encode(s);

function concat(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function int16le(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setInt16(2 * i, v, true));
  return out;
}

const VALUES = Array.from({ length: N }, (_, x) => sampleValue(x));

function nrrdHeader(fields: Readonly<Record<string, string>>): string {
  return `NRRD0004\n${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('')}\n`;
}

const NRRD_FIELDS: Readonly<Record<string, string>> = {
  type: 'short',
  dimension: '3',
  space: 'left-posterior-superior',
  sizes: `${NX} ${NY} ${NZ}`,
  'space directions': '(0.5,0,0) (0,0.5,0) (0,0,2)',
  endian: 'little',
  encoding: 'raw',
  'space origin': '(1,2,3)',
};

function mhaHeader(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('');
}

const MHA_FIELDS: Readonly<Record<string, string>> = {
  ObjectType: 'Image',
  NDims: '3',
  BinaryData: 'True',
  BinaryDataByteOrderMSB: 'False',
  CompressedData: 'False',
  Offset: '1 2 3',
  ElementSpacing: '0.5 0.5 2',
  DimSize: `${NX} ${NY} ${NZ}`,
  ElementType: 'MET_SHORT',
  ElementDataFile: 'LOCAL',
};

function dicomSample(): Uint8Array {
  return encodeDicomFile(
    imageDataSet({
      rows: NY,
      columns: NX,
      pixels: Int16Array.from(VALUES.slice(0, NX * NY)),
      sopInstanceUid: '1.2.826.0.1.3680043.10.1.3',
      seriesInstanceUid: '1.2.826.0.1.3680043.10.1.2',
      studyInstanceUid: '1.2.826.0.1.3680043.10.1.1',
      frameOfReference: '1.2.826.0.1.3680043.10.1.4',
      seriesDescription: 'corrupt fixture',
      ipp: [0, 0, 0],
      iop: [1, 0, 0, 0, 1, 0],
      pixelSpacing: [0.5, 0.5],
      // A sequence before the pixel data, so that a cut can land inside one.
      extra: [
        seq(0x00081140, [
          [
            el(0x00081150, 'UI', '1.2.840.10008.5.1.4.1.1.2'),
            el(0x00081155, 'UI', '1.2.826.0.1.3680043.10.1.9'),
          ],
        ]),
      ],
    }),
  );
}

export function sampleFiles(): SampleFiles {
  const nifti = writeNifti(
    {
      dims: [NX, NY, NZ],
      spacing: [0.5, 0.5, 2],
      origin: [1, 2, 3],
      direction: [1, 0, 0, 0, 1, 0, 0, 0, 1],
      data: Int16Array.from(VALUES),
    },
    'int16',
  );
  const png = encodePng({
    width: NX,
    height: NY,
    data: Uint8Array.from({ length: NX * NY }, (_, i) => (i % 3 === 0 ? 255 : 0)),
    channels: 1,
    depth: 8,
  });
  const data = int16le(VALUES);
  return {
    nifti: { name: 'sample.nii', bytes: nifti },
    niftiGz: { name: 'sample.nii.gz', bytes: gzipSync(nifti) },
    png: { name: 'sample.png', bytes: png },
    dicom: { name: 'sample.dcm', bytes: dicomSample() },
    nrrd: { name: 'sample.nrrd', bytes: concat(text(nrrdHeader(NRRD_FIELDS)), data) },
    nrrdGz: {
      name: 'sample-gz.nrrd',
      bytes: concat(text(nrrdHeader({ ...NRRD_FIELDS, encoding: 'gzip' })), gzipSync(data)),
    },
    mha: { name: 'sample.mha', bytes: concat(text(mhaHeader(MHA_FIELDS)), data) },
    mhaZ: {
      name: 'sample-z.mha',
      bytes: concat(text(mhaHeader({ ...MHA_FIELDS, CompressedData: 'True' })), zlibSync(data)),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Byte surgery

function patched(b: Uint8Array, edit: (dv: DataView, bytes: Uint8Array) => void): Uint8Array {
  const out = b.slice();
  edit(new DataView(out.buffer), out);
  return out;
}

/** Offset of an explicit-VR little-endian element (group, element, VR) in a DICOM file. */
export function findDicomElement(b: Uint8Array, group: number, element: number, vr: string): number {
  const want = [group & 255, group >> 8, element & 255, element >> 8, vr.charCodeAt(0), vr.charCodeAt(1)];
  for (let i = 132; i + want.length <= b.length; i++) {
    if (want.every((x, k) => b[i + k] === x)) return i;
  }
  throw new Error(`element (${group.toString(16)},${element.toString(16)}) ${vr} not found`);
}

// ---------------------------------------------------------------------------------------------------------

export function corruptFixtures(samples: SampleFiles = sampleFiles()): CorruptFixture[] {
  const out: CorruptFixture[] = [];
  const add = (
    id: string,
    description: string,
    name: string,
    bytes: Uint8Array,
    expect: ErrorCode | readonly ErrorCode[],
    more: Partial<Pick<CorruptFixture, 'via' | 'opensAs' | 'options'>> = {},
  ) => out.push({ id, description, file: { name, bytes }, expect, via: more.via ?? 'content', ...more });

  // NIfTI-1: header 0…347, 4 extension bytes, voxels from 352 (int16).
  const nii = samples.nifti.bytes;
  const niiCut = (at: number, where: string) =>
    add(
      `nifti-cut-${at}`,
      `NIfTI cut at byte ${at} (${where})`,
      `cut-${at}.nii`,
      nii.slice(0, at),
      'truncated-file',
    );
  niiCut(100, 'in the header');
  niiCut(347, 'one byte short of the header');
  niiCut(352 + N, 'half way through the voxels');
  niiCut(nii.length - 1, 'one byte short of the voxels');
  const niiEdit = (id: string, description: string, expect: ErrorCode, edit: (dv: DataView) => void) =>
    add(id, description, `${id}.nii`, patched(nii, edit), expect);
  niiEdit('nifti-dim0-zero', 'NIfTI with dim[0] = 0', 'corrupt-file', (dv) => dv.setInt16(40, 0, true));
  niiEdit('nifti-dim0-nine', 'NIfTI with dim[0] = 9', 'corrupt-file', (dv) => dv.setInt16(40, 9, true));
  niiEdit('nifti-dim-negative', 'NIfTI with dim[2] = −6', 'corrupt-file', (dv) => dv.setInt16(44, -6, true));
  niiEdit('nifti-dim-zero', 'NIfTI with dim[3] = 0', 'corrupt-file', (dv) => dv.setInt16(46, 0, true));
  niiEdit('nifti-datatype', 'NIfTI with datatype 1792 (complex256)', 'unsupported-format', (dv) =>
    dv.setInt16(70, 1792, true),
  );
  niiEdit('nifti-vox-offset-inside', 'NIfTI with vox_offset 100, inside the header', 'corrupt-file', (dv) =>
    dv.setFloat32(108, 100, true),
  );
  niiEdit('nifti-vox-offset-nan', 'NIfTI with vox_offset NaN', 'corrupt-file', (dv) =>
    dv.setFloat32(108, Number.NaN, true),
  );
  niiEdit(
    'nifti-vox-offset-beyond',
    'NIfTI with vox_offset past the end of the file',
    'truncated-file',
    (dv) => dv.setFloat32(108, 65536, true),
  );
  niiEdit('nifti-magic', "NIfTI with magic 'xyz' instead of 'n+1'", 'corrupt-file', (dv) =>
    dv.setUint8(344, 0x78),
  );
  niiEdit('nifti-sizeof-hdr', 'NIfTI with sizeof_hdr 347', 'corrupt-file', (dv) => dv.setInt32(0, 347, true));
  niiEdit('nifti-oversized', 'NIfTI declaring 2000³ int16 voxels (16 GB)', 'size-budget', (dv) => {
    dv.setInt16(42, 2000, true);
    dv.setInt16(44, 2000, true);
    dv.setInt16(46, 2000, true);
  });
  niiEdit('nifti-data-larger', 'NIfTI declaring more voxels than the file holds', 'truncated-file', (dv) =>
    dv.setInt16(46, NZ + 1, true),
  );
  const gz = samples.niftiGz.bytes;
  add(
    'nifti-gz-cut-10',
    '.nii.gz cut inside the gzip header',
    'cut-gz-10.nii.gz',
    gz.slice(0, 10),
    'truncated-file',
  );
  add(
    'nifti-gz-cut-half',
    '.nii.gz cut half way through the deflate stream',
    'cut-gz-half.nii.gz',
    gz.slice(0, Math.floor(gz.length / 2)),
    'truncated-file',
  );
  add(
    'nifti-gz-not-gzip',
    'text named .nii.gz (neither gzip nor NIfTI)',
    'text.nii.gz',
    text('Not an image: a text file named like a compressed NIfTI.\n'.repeat(8)),
    'corrupt-file',
  );
  add(
    'nifti-gz-oversized',
    '.nii.gz whose header declares 2000³ int16 voxels',
    'oversized.nii.gz',
    gzipSync(
      patched(nii, (dv) => {
        dv.setInt16(42, 2000, true);
        dv.setInt16(44, 2000, true);
        dv.setInt16(46, 2000, true);
      }),
    ),
    'size-budget',
  );
  add(
    'nifti-text',
    'text named .nii',
    'notes.nii',
    text('hello, not a NIfTI file\n'.repeat(40)),
    'corrupt-file',
  );

  // PNG: signature 0…7, IHDR chunk 8…32 (width 16, height 20, depth 24, colour type 25), IDAT, IEND.
  const png = samples.png.bytes;
  add('png-cut-5', 'PNG cut inside its signature', 'cut-5.png', png.slice(0, 5), 'unsupported-format');
  add('png-cut-20', 'PNG cut inside IHDR', 'cut-20.png', png.slice(0, 20), 'corrupt-file');
  add('png-cut-idat', 'PNG cut inside IDAT', 'cut-idat.png', png.slice(0, png.length - 20), 'corrupt-file');
  add('png-cut-iend', 'PNG cut before IEND', 'cut-iend.png', png.slice(0, png.length - 12), 'corrupt-file');
  add(
    'png-colour-type',
    'PNG with colour type 5',
    'colour-type.png',
    patched(png, (dv) => dv.setUint8(25, 5)),
    'corrupt-file',
  );
  add(
    'png-bit-depth',
    'PNG with bit depth 7',
    'bit-depth.png',
    patched(png, (dv) => dv.setUint8(24, 7)),
    'corrupt-file',
  );
  add(
    'png-oversized',
    'PNG whose IHDR declares 60000 × 60000 pixels',
    'oversized.png',
    patched(png, (dv) => {
      dv.setUint32(16, 60000);
      dv.setUint32(20, 60000);
    }),
    'size-budget',
  );

  // Wrong extensions.
  add('png-named-nii', 'a valid PNG named .nii', 'mask.nii', png, 'corrupt-file', {
    via: 'extension',
    opensAs: 'png',
  });
  add('nifti-named-png', 'a valid NIfTI named .png', 'scan.png', nii, 'corrupt-file', {
    via: 'extension',
    opensAs: 'nifti',
  });
  add(
    'text-named-dcm',
    'text named .dcm',
    'notes.dcm',
    text('hello, not a DICOM file\n'.repeat(10)),
    'corrupt-file',
  );

  // DICOM (explicit VR little endian): preamble, 'DICM' at 128, file meta, data set with a sequence, pixels.
  const dcm = samples.dicom.bytes;
  const seqAt = findDicomElement(dcm, 0x0008, 0x1140, 'SQ');
  const pixelAt = findDicomElement(dcm, 0x7fe0, 0x0010, 'OW');
  const rowsAt = findDicomElement(dcm, 0x0028, 0x0010, 'US');
  const colsAt = findDicomElement(dcm, 0x0028, 0x0011, 'US');
  const bitsAt = findDicomElement(dcm, 0x0028, 0x0100, 'US');
  const descAt = findDicomElement(dcm, 0x0008, 0x103e, 'LO');
  const dcmCut = (id: string, at: number, where: string) =>
    add(id, `DICOM cut at byte ${at} (${where})`, `${id}.dcm`, dcm.slice(0, at), 'truncated-file');
  dcmCut('dicom-cut-meta', 150, 'in the file meta header');
  dcmCut('dicom-cut-sequence', seqAt + 30, 'inside a sequence item');
  dcmCut('dicom-cut-pixel-tag', pixelAt + 4, 'in the pixel data element header');
  dcmCut('dicom-cut-pixels', pixelAt + 12 + NX * NY, 'half way through the pixel data');
  dcmCut('dicom-cut-last', dcm.length - 1, 'one byte short');
  const dcmEdit = (
    id: string,
    description: string,
    expect: ErrorCode | readonly ErrorCode[],
    edit: (dv: DataView) => void,
  ) => add(id, description, `${id}.dcm`, patched(dcm, edit), expect);
  dcmEdit('dicom-no-dicm', "DICOM without 'DICM' at byte 128", 'corrupt-file', (dv) =>
    dv.setUint8(128, 0x58),
  );
  dcmEdit(
    'dicom-vr-length-odd',
    'DICOM with an odd VR length (every later element misaligned: corrupt, or read as cut short)',
    ['corrupt-file', 'truncated-file'],
    (dv) => dv.setUint16(descAt + 6, dv.getUint16(descAt + 6, true) | 1, true),
  );
  dcmEdit('dicom-vr-length-huge', 'DICOM with a VR length past the end of the file', 'truncated-file', (dv) =>
    dv.setUint16(descAt + 6, 0xfff0, true),
  );
  dcmEdit('dicom-vr-invalid', "DICOM whose Rows VR is 'ZZ'", 'corrupt-file', (dv) => {
    dv.setUint8(rowsAt + 4, 0x5a);
    dv.setUint8(rowsAt + 5, 0x5a);
  });
  dcmEdit('dicom-rows-zero', 'DICOM with Rows 0', 'corrupt-file', (dv) => dv.setUint16(rowsAt + 8, 0, true));
  dcmEdit('dicom-bits-allocated', 'DICOM with BitsAllocated 12', 'unsupported-format', (dv) =>
    dv.setUint16(bitsAt + 8, 12, true),
  );
  dcmEdit('dicom-oversized', 'DICOM declaring 65535 × 65535 pixels (8 GB)', 'size-budget', (dv) => {
    dv.setUint16(rowsAt + 8, 65535, true);
    dv.setUint16(colsAt + 8, 65535, true);
  });
  dcmEdit(
    'dicom-pixels-short',
    'DICOM whose pixel data is shorter than Rows × Columns',
    'corrupt-file',
    (dv) => dv.setUint16(rowsAt + 8, NY + 1, true),
  );

  // NRRD (attached raw and gzip), MetaImage (.mha raw and zlib).
  const nrrd = samples.nrrd.bytes;
  const nrrdHead = nrrdHeader(NRRD_FIELDS).length;
  add(
    'nrrd-cut-header',
    'NRRD cut before the blank line that ends its header',
    'cut-header.nrrd',
    nrrd.slice(0, nrrdHead - 1),
    'truncated-file',
  );
  add(
    'nrrd-cut-data',
    'NRRD cut half way through its data',
    'cut-data.nrrd',
    nrrd.slice(0, nrrdHead + N),
    'truncated-file',
  );
  const nrrdWith = (id: string, description: string, fields: Record<string, string>, expect: ErrorCode) =>
    add(
      id,
      description,
      `${id}.nrrd`,
      concat(text(nrrdHeader({ ...NRRD_FIELDS, ...fields })), int16le(VALUES)),
      expect,
    );
  nrrdWith('nrrd-sizes-zero', "NRRD with 'sizes: 8 0 4'", { sizes: `${NX} 0 ${NZ}` }, 'corrupt-file');
  nrrdWith('nrrd-sizes-negative', "NRRD with 'sizes: 8 -6 4'", { sizes: `${NX} -6 ${NZ}` }, 'corrupt-file');
  nrrdWith('nrrd-type', "NRRD with 'type: complex'", { type: 'complex' }, 'unsupported-format');
  nrrdWith('nrrd-dimension', "NRRD with 'dimension: 0'", { dimension: '0' }, 'corrupt-file');
  nrrdWith('nrrd-oversized', "NRRD with 'sizes: 4000 4000 4000'", { sizes: '4000 4000 4000' }, 'size-budget');
  nrrdWith(
    'nrrd-data-larger',
    'NRRD declaring more samples than the file holds',
    { sizes: `${NX} ${NY} ${NZ + 1}` },
    'truncated-file',
  );
  const nrrdGz = samples.nrrdGz.bytes;
  add(
    'nrrd-gz-cut',
    'gzip NRRD cut inside its compressed data',
    'cut-gz.nrrd',
    nrrdGz.slice(0, nrrdGz.length - 15),
    'truncated-file',
  );

  const mha = samples.mha.bytes;
  const mhaHead = mhaHeader(MHA_FIELDS).length;
  add(
    'mha-cut-header',
    'MetaImage cut before its ElementDataFile line',
    'cut-header.mha',
    mha.slice(0, mhaHead - 25),
    'corrupt-file',
  );
  add(
    'mha-cut-data',
    'MetaImage cut half way through its data',
    'cut-data.mha',
    mha.slice(0, mhaHead + N),
    'truncated-file',
  );
  const mhaWith = (id: string, description: string, fields: Record<string, string>, expect: ErrorCode) =>
    add(
      id,
      description,
      `${id}.mha`,
      concat(text(mhaHeader({ ...MHA_FIELDS, ...fields })), int16le(VALUES)),
      expect,
    );
  mhaWith(
    'mha-dimsize-zero',
    "MetaImage with 'DimSize = 8 6 0'",
    { DimSize: `${NX} ${NY} 0` },
    'corrupt-file',
  );
  mhaWith('mha-ndims', "MetaImage with 'NDims = 0'", { NDims: '0' }, 'corrupt-file');
  mhaWith(
    'mha-element-type',
    "MetaImage with 'ElementType = MET_LONG_ARRAY'",
    { ElementType: 'MET_LONG_ARRAY' },
    'unsupported-format',
  );
  mhaWith(
    'mha-oversized',
    "MetaImage with 'DimSize = 4000 4000 4000'",
    { DimSize: '4000 4000 4000' },
    'size-budget',
  );
  const mhaZ = samples.mhaZ.bytes;
  add(
    'mha-z-cut',
    'compressed MetaImage cut inside its zlib data',
    'cut-z.mha',
    mhaZ.slice(0, mhaZ.length - 15),
    'truncated-file',
  );

  return out;
}
