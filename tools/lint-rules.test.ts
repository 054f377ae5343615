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

  it('keeps state free of ui imports', async () => {
    const msgs = await messagesFor(
      'src/state/runtime.ts',
      "import { App } from '../ui/App';\nexport const x = App;\n",
    );
    expect(msgs.join('\n')).toMatch(/state\/ holds serializable data/);
  });
});
