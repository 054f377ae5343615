/** The codecs' .wasm files as bundled by Vite (browser builds only: `?url` imports). */
import j2k from '@cornerstonejs/codec-openjpeg/decodewasm?url';
import htj2k from '@cornerstonejs/codec-openjph/wasm?url';
import jls from '@cornerstonejs/codec-charls/decodewasm?url';
import jpeg from '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm?url';
import type { CodecWasmUrls } from './dicom-codecs';

export function codecWasmUrls(base: string): CodecWasmUrls {
  const at = (u: string) => new URL(u, base).href;
  return { j2k: at(j2k), htj2k: at(htj2k), jls: at(jls), jpeg: at(jpeg) };
}
