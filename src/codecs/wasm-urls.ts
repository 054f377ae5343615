/** The codecs' .wasm files as bundled by Vite (browser builds only: `?url` imports). */
import j2k from '@cornerstonejs/codec-openjpeg/decodewasm?url';
import jls from '@cornerstonejs/codec-charls/decodewasm?url';
import jpeg from '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm?url';
import type { CodecWasmUrls } from './dicom-codecs';

export function codecWasmUrls(base: string): CodecWasmUrls {
  return { j2k: new URL(j2k, base).href, jls: new URL(jls, base).href, jpeg: new URL(jpeg, base).href };
}
