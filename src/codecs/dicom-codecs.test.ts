/**
 * HTJ2K (transfer syntaxes 1.2.840.10008.1.2.4.201/202/203) through the FrameDecoder the readers take, in
 * Node as the command line runs it. No HTJ2K sample is in test-data, so the frames are made here with
 * OpenJPH's own encoder (the same @cornerstonejs/codec-openjph build the decoder uses).
 */
import openjph from '@cornerstonejs/codec-openjph/wasmjs';
import { describe, expect, it } from 'vitest';
import { readDicomSeries } from '../core/io/dicom';
import { el, encodeDicomFile, imageDataSet } from '../core/testing/dicom';
import { cornerstoneFrameDecoder } from './dicom-codecs';

const HTJ2K_LOSSLESS = '1.2.840.10008.1.2.4.201';
const HTJ2K_RPCL = '1.2.840.10008.1.2.4.202';
const HTJ2K = '1.2.840.10008.1.2.4.203';
const RPCL = 2; // OpenJPH's progression orders: LRCP, RLCP, RPCL, PCRL, CPRL
const W = 7;
const H = 5;

async function encodeHtj2k(
  pixels: Int16Array | Uint16Array | Uint8Array,
  o: { readonly signed: boolean; readonly lossy?: boolean; readonly order?: number },
): Promise<Uint8Array> {
  const m = await openjph({ print: () => undefined, printErr: () => undefined });
  const e = new m.HTJ2KEncoder();
  try {
    if (o.lossy) e.setQuality(false, 0.001);
    if (o.order !== undefined) e.setProgressionOrder(o.order);
    e.getDecodedBuffer({
      width: W,
      height: H,
      bitsPerSample: pixels.BYTES_PER_ELEMENT * 8,
      componentCount: 1,
      isSigned: o.signed,
      isUsingColorTransform: false,
    }).set(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
    e.encode();
    return e.getEncodedBuffer().slice();
  } finally {
    e.delete();
  }
}

const info = (bitsAllocated: number, pixelRepresentation: number) => ({
  rows: H,
  columns: W,
  bitsAllocated,
  pixelRepresentation,
  samplesPerPixel: 1,
});

describe('HTJ2K decoding (OpenJPH)', () => {
  it('decodes HTJ2K Lossless frames exactly: signed CT values keep their sign', async () => {
    const px = Int16Array.from({ length: W * H }, (_, i) => i * 61 - 1024);
    const encoded = await encodeHtj2k(px, { signed: true });
    expect(Array.from(encoded.subarray(0, 2))).toEqual([0xff, 0x4f]); // a J2K codestream (SOC)
    const out = await cornerstoneFrameDecoder(HTJ2K_LOSSLESS, encoded, info(16, 1));
    expect(out).toBeInstanceOf(Int16Array);
    expect(Array.from(out)).toEqual(Array.from(px));
  });

  it('decodes HTJ2K Lossless RPCL, 16- and 8-bit unsigned', async () => {
    const px16 = Uint16Array.from({ length: W * H }, (_, i) => i * 1871);
    const out16 = await cornerstoneFrameDecoder(
      HTJ2K_RPCL,
      await encodeHtj2k(px16, { signed: false, order: RPCL }),
      info(16, 0),
    );
    expect(out16).toBeInstanceOf(Uint16Array);
    expect(Array.from(out16)).toEqual(Array.from(px16));

    const px8 = Uint8Array.from({ length: W * H }, (_, i) => (i * 7) % 256);
    const out8 = await cornerstoneFrameDecoder(
      HTJ2K_RPCL,
      await encodeHtj2k(px8, { signed: false, order: RPCL }),
      info(8, 0),
    );
    expect(out8).toBeInstanceOf(Uint8Array);
    expect(Array.from(out8)).toEqual(Array.from(px8));
  });

  it('decodes lossy HTJ2K to the right size, close to the original', async () => {
    const px = Uint16Array.from({ length: W * H }, (_, i) => 1000 + i * 97);
    const out = await cornerstoneFrameDecoder(
      HTJ2K,
      await encodeHtj2k(px, { signed: false, lossy: true }),
      info(16, 0),
    );
    expect(out).toHaveLength(W * H);
    const worst = Math.max(...Array.from(out, (v, i) => Math.abs(v - (px[i] ?? 0))));
    expect(worst).toBeLessThan(200);
  });

  it('reads a small HTJ2K Lossless DICOM series (three CT slices) through the reader, exactly', async () => {
    const slice = (k: number) => Int16Array.from({ length: W * H }, (_, i) => 100 * k + i * 13 - 1024);
    const files = await Promise.all(
      [0, 1, 2].map(async (k) => {
        const ds = imageDataSet({
          rows: H,
          columns: W,
          pixels: new Int16Array(0),
          ipp: [0, 0, 2 * k],
          iop: [1, 0, 0, 0, 1, 0],
          pixelSpacing: [0.5, 0.5],
          sopInstanceUid: `1.2.3.4.${k + 1}`,
          seriesInstanceUid: '1.2.3.4',
          studyInstanceUid: '1.2.3',
          frameOfReference: '1.2.3.9',
          instanceNumber: k + 1,
          extra: [el(0x7fe00010, 'OB', { fragments: [await encodeHtj2k(slice(k), { signed: true })] })],
        });
        return { name: `ht${k}.dcm`, bytes: encodeDicomFile(ds, { transferSyntax: HTJ2K_LOSSLESS }) };
      }),
    );
    const withoutDecoder = await readDicomSeries(files);
    expect(withoutDecoder.errors[0]?.message).toMatch(/HTJ2K Lossless \(1\.2\.840\.10008\.1\.2\.4\.201\)/);

    const { series, errors } = await readDicomSeries(files, { decoder: cornerstoneFrameDecoder });
    expect(errors).toEqual([]);
    const v = series[0]?.result.volume;
    expect(v?.dims).toEqual([W, H, 3]);
    expect(Array.from(v?.data ?? [])).toEqual([0, 1, 2].flatMap((k) => Array.from(slice(k))));
  });

  it('refuses a frame whose size disagrees with the header', async () => {
    const encoded = await encodeHtj2k(new Int16Array(W * H), { signed: true });
    await expect(
      cornerstoneFrameDecoder(HTJ2K_LOSSLESS, encoded, { ...info(16, 1), rows: H + 1 }),
    ).rejects.toThrow(/compressed frame is 7×5, the header says 7×6/);
  });

  it('still names what it decodes when a transfer syntax is not covered (JPEG XL)', async () => {
    await expect(
      cornerstoneFrameDecoder('1.2.840.10008.1.2.4.110', new Uint8Array(4), info(16, 0)),
    ).rejects.toThrow(/1\.2\.840\.10008\.1\.2\.4\.110 is not decoded by this app \(JPEG 2000, HTJ2K,/);
  });
});
