/**
 * Decoding of compressed DICOM pixel data with Cornerstone's codecs (JPEG 2000, HTJ2K, JPEG-LS, JPEG
 * baseline, JPEG lossless) plus RLE, as the FrameDecoder the core DICOM reader takes. These are the
 * packages (and versions) @cornerstonejs/dicom-image-loader decodes with, imported directly: the loader
 * does not export its decoders, and they locate their .wasm in a way Node cannot load. The WebAssembly
 * builds are imported on first use only. In the browser the app passes the bundled .wasm URLs
 * (wasm-urls.ts); in Node (the command line) the codecs find their .wasm beside their script.
 */
import { AppError } from '../core/errors';
import type { FrameDecoder } from '../core/io/dicom';

type Info = Parameters<FrameDecoder>[2];
type Out = Int16Array | Uint16Array | Uint8Array;

const cache = new Map<string, Promise<unknown>>();
function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) {
    p = load();
    cache.set(key, p);
  }
  return p;
}

function typed(bytes: Uint8Array, info: Info): Out {
  const copy = bytes.slice();
  if (info.bitsAllocated <= 8) return copy;
  return info.pixelRepresentation === 1
    ? new Int16Array(copy.buffer, 0, copy.length >> 1)
    : new Uint16Array(copy.buffer, 0, copy.length >> 1);
}

type Kind = 'j2k' | 'htj2k' | 'jls' | 'jpeg';
export type CodecWasmUrls = Readonly<Record<Kind, string>>;
let wasmUrls: CodecWasmUrls | null = null;

/** Where the codecs' .wasm files are served (browser builds); Node finds them on disk. */
export function setCodecWasmUrls(urls: CodecWasmUrls): void {
  wasmUrls = urls;
}

/** Each codec's WebAssembly module, instantiated on first use; returns a factory of decoders. */
const LOAD: Readonly<Record<Kind, (opts: object) => Promise<() => EmscriptenCodecDecoder>>> = {
  j2k: async (opts) => {
    const m = await (await import('@cornerstonejs/codec-openjpeg/decodewasmjs')).default(opts);
    return () => new m.J2KDecoder();
  },
  htj2k: async (opts) => {
    const m = await (await import('@cornerstonejs/codec-openjph/wasmjs')).default(opts);
    return () => new m.HTJ2KDecoder();
  },
  jls: async (opts) => {
    const m = await (await import('@cornerstonejs/codec-charls/decodewasmjs')).default(opts);
    return () => new m.JpegLSDecoder();
  },
  jpeg: async (opts) => {
    const m = await (await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs')).default(opts);
    return () => new m.JPEGDecoder();
  },
};

async function emscripten(kind: Kind, encoded: Uint8Array, info: Info): Promise<Out> {
  // Silence the codecs' stdout chatter; locate the .wasm where the bundler put it.
  const opts = {
    print: () => undefined,
    printErr: () => undefined,
    ...(wasmUrls ? { locateFile: (f: string) => (f.endsWith('.wasm') ? (wasmUrls?.[kind] ?? f) : f) } : {}),
  };
  const mod = await once(kind, () => LOAD[kind](opts));
  const d = mod();
  try {
    d.getEncodedBuffer(encoded.length).set(encoded);
    d.decode();
    const fi = d.getFrameInfo();
    if (fi.width !== info.columns || fi.height !== info.rows) {
      throw new AppError(
        'corrupt-file',
        `The compressed frame is ${fi.width}×${fi.height}, the header says ${info.columns}×${info.rows}.`,
      );
    }
    return typed(d.getDecodedBuffer(), {
      ...info,
      bitsAllocated: fi.bitsPerSample > 8 ? 16 : 8,
      pixelRepresentation: fi.isSigned ? 1 : info.pixelRepresentation,
    });
  } finally {
    d.delete();
  }
}

async function jpegLossless(encoded: Uint8Array, info: Info): Promise<Out> {
  const { Decoder } = await import('@cornerstonejs/jpeg-lossless-decoder-js');
  const buf = encoded.slice().buffer;
  const out = new Decoder().decode(buf, 0, buf.byteLength, info.bitsAllocated > 8 ? 2 : 1);
  if (out instanceof Uint8Array) return out;
  return info.pixelRepresentation === 1 ? new Int16Array(out.buffer, out.byteOffset, out.length) : out;
}

/** DICOM RLE (PS3.5 Annex G): a 64-byte header of segment offsets, each segment PackBits-coded. */
export function decodeRle(encoded: Uint8Array, info: Info): Out {
  const dv = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const nSeg = dv.getUint32(0, true);
  const bytesPer = info.bitsAllocated <= 8 ? 1 : 2;
  const pixels = info.rows * info.columns;
  if (nSeg !== bytesPer * info.samplesPerPixel || nSeg > 15)
    throw new AppError(
      'corrupt-file',
      `RLE frame has ${nSeg} segments; expected ${bytesPer * info.samplesPerPixel}.`,
    );
  const out = new Uint8Array(pixels * bytesPer * info.samplesPerPixel);
  for (let s = 0; s < nSeg; s++) {
    const start = dv.getUint32(4 + 4 * s, true);
    const end = s + 1 < nSeg ? dv.getUint32(8 + 4 * s, true) : encoded.length;
    const sample = Math.floor(s / bytesPer);
    // Segments hold the most significant byte first; output is little-endian.
    const byte = bytesPer - 1 - (s % bytesPer);
    let i = start;
    let p = 0;
    const put = (v: number) => {
      if (p < pixels) out[(p * info.samplesPerPixel + sample) * bytesPer + byte] = v;
      p++;
    };
    while (i < end && p < pixels) {
      const n = ((encoded[i++] ?? 0) << 24) >> 24;
      if (n >= 0) for (let k = 0; k <= n && i < end; k++) put(encoded[i++] ?? 0);
      else if (n !== -128) {
        const v = encoded[i++] ?? 0;
        for (let k = 0; k < 1 - n; k++) put(v);
      }
    }
    if (p < pixels) throw new AppError('truncated-file', 'RLE frame is truncated.');
  }
  return bytesPer === 1
    ? out
    : info.pixelRepresentation === 1
      ? new Int16Array(out.buffer)
      : new Uint16Array(out.buffer);
}

/** HTJ2K Lossless, HTJ2K Lossless RPCL, HTJ2K (PS3.5 A.4.11): one decoder, any progression order. */
const HTJ2K = new Set(['1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.202', '1.2.840.10008.1.2.4.203']);

export const cornerstoneFrameDecoder: FrameDecoder = async (ts, encoded, info) => {
  if (ts === '1.2.840.10008.1.2.4.90' || ts === '1.2.840.10008.1.2.4.91')
    return emscripten('j2k', encoded, info);
  if (HTJ2K.has(ts)) return emscripten('htj2k', encoded, info);
  if (ts === '1.2.840.10008.1.2.4.80' || ts === '1.2.840.10008.1.2.4.81')
    return emscripten('jls', encoded, info);
  if (ts === '1.2.840.10008.1.2.4.50') return emscripten('jpeg', encoded, info);
  if (ts === '1.2.840.10008.1.2.4.57' || ts === '1.2.840.10008.1.2.4.70') return jpegLossless(encoded, info);
  if (ts === '1.2.840.10008.1.2.5') return Promise.resolve(decodeRle(encoded, info));
  throw new AppError(
    'unsupported-format',
    `DICOM transfer syntax ${ts} is not decoded by this app (JPEG 2000, HTJ2K, JPEG-LS, JPEG baseline/lossless and RLE are). Convert the series to an uncompressed or JPEG 2000 syntax.`,
    {
      subject: ts,
    },
  );
};
