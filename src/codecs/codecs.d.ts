/** Types for the Cornerstone codec builds used to decode compressed DICOM frames (they ship none). */
interface EmscriptenCodecDecoder {
  getEncodedBuffer: (length: number) => Uint8Array;
  decode: () => void;
  getDecodedBuffer: () => Uint8Array;
  getFrameInfo: () => {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
  };
  delete: () => void;
}
type CodecModule<K extends string> = Record<K, new () => EmscriptenCodecDecoder>;
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (opts?: object) => Promise<CodecModule<'J2KDecoder'>>;
  export default factory;
}
/** OpenJPH's encoder (the tests use it to make HTJ2K frames; the app only decodes). */
interface HTJ2KEncoder {
  getDecodedBuffer: (frameInfo: {
    width: number;
    height: number;
    bitsPerSample: number;
    componentCount: number;
    isSigned: boolean;
    isUsingColorTransform: boolean;
  }) => Uint8Array;
  setProgressionOrder: (order: number) => void;
  setQuality: (reversible: boolean, quantizationStep: number) => void;
  encode: () => void;
  getEncodedBuffer: () => Uint8Array;
  delete: () => void;
}
declare module '@cornerstonejs/codec-openjph/wasmjs' {
  const factory: (
    opts?: object,
  ) => Promise<CodecModule<'HTJ2KDecoder'> & { HTJ2KEncoder: new () => HTJ2KEncoder }>;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (opts?: object) => Promise<CodecModule<'JpegLSDecoder'>>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (opts?: object) => Promise<CodecModule<'JPEGDecoder'>>;
  export default factory;
}
