/** The architecture's dependency rules are enforced by ESLint, with messages that say why. */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function messagesFor(filePath: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath });
  return (res?.messages ?? []).map((m) => m.message);
}

describe('architecture lint rules', () => {
  it('lets only src/runtime import onnxruntime-web', async () => {
    const code = "import * as ort from 'onnxruntime-web';\nexport const x = ort.env;\n";
    expect((await messagesFor('src/core/errors.ts', code)).join('\n')).toMatch(
      /Only src\/runtime\/ may import ONNX Runtime/,
    );
    expect((await messagesFor('src/ui/App.tsx', code)).join('\n')).toMatch(/Only src\/runtime\//);
    expect((await messagesFor('src/runtime/tensors.ts', code)).join('\n')).not.toMatch(
      /may import ONNX Runtime/,
    );
  });

  it('lets only src/viewer import Cornerstone', async () => {
    const code = "import { init } from '@cornerstonejs/core';\nexport const x = init;\n";
    expect((await messagesFor('src/ui/App.tsx', code)).join('\n')).toMatch(
      /Only src\/viewer\/ may import Cornerstone3D/,
    );
  });

  it('lets only src/codecs import the codec packages, and src/viewer still owns Cornerstone3D', async () => {
    const codec = "import f from '@cornerstonejs/codec-openjph/wasmjs';\nexport const x = f;\n";
    for (const path of [
      'src/viewer/controller.ts',
      'src/cli/evaluate.ts',
      'src/app/main.tsx',
      'src/batch/runner.ts',
    ]) {
      expect((await messagesFor(path, codec)).join('\n'), path).toMatch(
        /Only src\/codecs\/ may import the DICOM codec packages/,
      );
    }
    const lossless =
      "import { Decoder } from '@cornerstonejs/jpeg-lossless-decoder-js';\nexport const x = Decoder;\n";
    expect((await messagesFor('src/viewer/controller.ts', lossless)).join('\n')).toMatch(
      /Only src\/codecs\//,
    );
    const inCodecs = (await messagesFor('src/codecs/dicom-codecs.ts', codec)).join('\n');
    expect(inCodecs).not.toMatch(/Only src\/codecs\//);
    expect(inCodecs).not.toMatch(/Cornerstone3D/);

    const core = "import { init } from '@cornerstonejs/core';\nexport const x = init;\n";
    expect((await messagesFor('src/viewer/controller.ts', core)).join('\n')).not.toMatch(/Cornerstone3D/);
    expect((await messagesFor('src/codecs/dicom-codecs.ts', core)).join('\n')).toMatch(
      /Only src\/viewer\/ may import Cornerstone3D/,
    );
    const loader = "import { init } from '@cornerstonejs/dicom-image-loader';\nexport const x = init;\n";
    expect((await messagesFor('src/codecs/dicom-codecs.ts', loader)).join('\n')).toMatch(
      /imports the codec packages themselves, not the DICOM image loader/,
    );
  });

  it('finds import cycles (the resolver knows .ts: without it no-cycle silently checked nothing)', async () => {
    // core/models/adapters.ts imports ../tensor: tensor.ts importing adapters closes a cycle.
    const code = "import { encoderFeeds } from './models/adapters';\nexport const x = encoderFeeds;\n";
    expect((await messagesFor('src/core/tensor.ts', code)).join('\n')).toMatch(/Dependency cycle detected/);
    const acyclic = "import { AppError } from './errors';\nexport const x = AppError;\n";
    expect((await messagesFor('src/core/tensor.ts', acyclic)).join('\n')).not.toMatch(/cycle/);
  });

  it('keeps the command line out of the viewer, the UI and the stores', async () => {
    const path = 'src/cli/evaluate.ts';
    for (const from of ['../viewer/controller', '../ui/App', '../state/runtime', '../app/main']) {
      expect(
        (await messagesFor(path, `import * as m from '${from}';\nexport const x = m;\n`)).join('\n'),
        from,
      ).toMatch(/cli\/ runs in Node without a DOM/);
    }
    const codecs =
      "import { cornerstoneFrameDecoder } from '../codecs/dicom-codecs';\nexport const x = cornerstoneFrameDecoder;\n";
    expect((await messagesFor(path, codecs)).join('\n')).not.toMatch(
      /no-restricted|cli\/ runs in Node|Only src/,
    );
  });

  it('keeps core pure: no React, no Node built-ins, no DOM globals, no layer above, no Math.random', async () => {
    const path = 'src/core/errors.ts';
    expect(
      (await messagesFor(path, "import { useState } from 'react';\nexport const x = useState;\n")).join('\n'),
    ).toMatch(/core\/ is pure/);
    expect(
      (
        await messagesFor(path, "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n")
      ).join('\n'),
    ).toMatch(/no Node built-ins/);
    expect(
      (await messagesFor(path, 'export const x = (): number => window.innerWidth;\n')).join('\n'),
    ).toMatch(/no DOM/);
    expect(
      (
        await messagesFor(
          path,
          "import { useRuntimeStore } from '../state/runtime';\nexport const x = useRuntimeStore;\n",
        )
      ).join('\n'),
    ).toMatch(/bottom layer/);
    expect((await messagesFor(path, 'export const x = (): number => Math.random();\n')).join('\n')).toMatch(
      /seeded PRNG/,
    );
  });

  it('keeps each reader in core/io free of other formats’ readers and of the DICOM writer', async () => {
    const why = /reader imports only the shared helpers in core\/io/;
    const lint = async (path: string, code: string) => (await messagesFor(path, code)).join('\n');
    expect(
      await lint(
        'src/core/io/nrrd.ts',
        "import { readMetaImage } from './metaimage';\nexport const x = readMetaImage;\n",
      ),
    ).toMatch(why);
    expect(
      await lint(
        'src/core/io/dicom/parse.ts',
        "import { readNrrd } from '../nrrd';\nexport const x = readNrrd;\n",
      ),
    ).toMatch(why);
    expect(
      await lint('src/core/io/dicom/series.ts', "import { el } from './write';\nexport const x = el;\n"),
    ).toMatch(why);
    // Shared helpers, the reader's own files, and the SEG writer's use of the encoder stay allowed.
    expect(
      await lint(
        'src/core/io/metaimage.ts',
        "import { swapBytes } from './bytes';\nexport const x = swapBytes;\n",
      ),
    ).not.toMatch(why);
    expect(
      await lint(
        'src/core/io/dicom/seg.ts',
        "import { pixelInfo } from './pixels';\nexport const x = pixelInfo;\n",
      ),
    ).not.toMatch(why);
    expect(
      await lint('src/core/io/dicom/seg-write.ts', "import { el } from './write';\nexport const x = el;\n"),
    ).not.toMatch(why);
  });

  it('keeps state free of ui imports', async () => {
    const msgs = await messagesFor(
      'src/state/runtime.ts',
      "import { App } from '../ui/App';\nexport const x = App;\n",
    );
    expect(msgs.join('\n')).toMatch(/state\/ holds serializable data/);
  });
});
