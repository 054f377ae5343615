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
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (opts?: object) => Promise<CodecModule<'JpegLSDecoder'>>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (opts?: object) => Promise<CodecModule<'JPEGDecoder'>>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decode' {
  const factory: (opts?: object) => Promise<CodecModule<'J2KDecoder'>>;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/decode' {
  const factory: (opts?: object) => Promise<CodecModule<'JpegLSDecoder'>>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decode' {
  const factory: (opts?: object) => Promise<CodecModule<'JPEGDecoder'>>;
  export default factory;
}
