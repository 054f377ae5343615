// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

/** Messages say why, so that whoever trips a rule learns the architecture from it. */
const ORT = {
  group: ['onnxruntime-web', 'onnxruntime-web/*', 'onnxruntime-node', 'onnxruntime-common'],
  message:
    'Only src/runtime/ may import ONNX Runtime: one owner keeps wasm paths, threads, providers and session lifetimes in one place (see docs/architecture.md).',
};
const CORNERSTONE = {
  group: [
    '@cornerstonejs/*',
    '!@cornerstonejs/codec-*',
    '!@cornerstonejs/jpeg-lossless-decoder-js',
    'dicom-image-loader',
  ],
  message:
    'Only src/viewer/ may import Cornerstone3D: rendering state stays behind the viewer controller so React and the core never hold viewports (see docs/architecture.md).',
};
const CODECS = {
  group: ['@cornerstonejs/codec-*', '@cornerstonejs/jpeg-lossless-decoder-js'],
  message:
    'Only src/codecs/ may import the DICOM codec packages: one owner loads their WebAssembly (bundled .wasm URLs in the browser, files beside the script in Node) and maps transfer syntaxes to decoders for the viewer, the batch and the command line alike (see docs/architecture.md).',
};
const PLOTLY = {
  group: ['plotly.js*'],
  message: 'Only src/ui/charts may import plotly: it is large and must stay lazy-loaded.',
};
const layer = (names, why) => ({
  group: names.flatMap((n) => [`**/${n}`, `**/${n}/**`]),
  message: why,
});

export default tseslint.config(
  {
    ignores: [
      'dist',
      'node_modules',
      'test-results',
      'playwright-report',
      'e2e/.generated',
      'bench/results',
      'public',
      '.scratch',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.browser, ...globals.node },
    },
    plugins: { 'import-x': importX, 'react-hooks': reactHooks },
    // import-x/no-cycle follows imports to files: without these it resolves no .ts import and
    // silently checks nothing (the cycle case in tools/lint-rules.test.ts fails without them).
    settings: {
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/ban-ts-comment': [
        'error',
        { 'ts-ignore': true, 'ts-expect-error': 'allow-with-description' },
      ],
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/method-signature-style': ['error', 'property'],
      'no-restricted-imports': ['error', { patterns: [ORT, CORNERSTONE, CODECS, PLOTLY] }],
    },
  },
  {
    files: ['src/**/*.tsx', 'src/ui/**', 'src/state/**', 'src/app/**'],
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['src/runtime/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            CORNERSTONE,
            CODECS,
            PLOTLY,
            layer(
              ['viewer', 'batch', 'state', 'ui', 'app'],
              'runtime/ depends on core/ only: the worker must not pull in UI or state.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/viewer/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ORT,
            CODECS,
            PLOTLY,
            layer(
              ['runtime', 'batch', 'state', 'ui', 'app'],
              'viewer/ depends on core/ only: it is an imperative controller that emits events.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/batch/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ORT,
            CORNERSTONE,
            CODECS,
            PLOTLY,
            layer(
              ['viewer', 'state', 'ui', 'app'],
              'batch/ depends on core/ and talks to inference through an injected interface.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/state/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ORT,
            CORNERSTONE,
            CODECS,
            PLOTLY,
            layer(
              ['ui', 'app'],
              'state/ holds serializable data; it never depends on components or the composition root.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/ui/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ORT,
            CORNERSTONE,
            CODECS,
            layer(
              ['app'],
              'ui/ receives engines from app/ by injection; it never imports the composition root.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/ui/charts/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [ORT, CORNERSTONE, CODECS, layer(['app'], 'ui/ never imports the composition root.')] },
      ],
    },
  },
  {
    files: ['src/codecs/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ORT,
            PLOTLY,
            {
              group: ['@cornerstonejs/dicom-image-loader', '@cornerstonejs/dicom-image-loader/**'],
              message:
                'src/codecs/ imports the codec packages themselves, not the DICOM image loader: the loader does not export its decoders, they find their .wasm through a bare specifier that Node cannot load, and its entry pulls in Cornerstone3D core. Declare the codec package in package.json (the version the loader pins) and import it here.',
            },
            CORNERSTONE,
            layer(
              ['runtime', 'viewer', 'batch', 'state', 'ui', 'app', 'cli'],
              'codecs/ depends on core/ only: the viewer, the batch worker and the command line all decode through it.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ORT,
            CORNERSTONE,
            CODECS,
            PLOTLY,
            layer(
              ['viewer', 'ui', 'state', 'app'],
              'cli/ runs in Node without a DOM: it shares core/, batch/, runtime/ and codecs/ with the app, never the viewer, the UI, the stores or the composition root.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'react',
              message: 'core/ is pure TypeScript: it runs in the worker, on the main thread and in Node.',
            },
            { name: 'zustand', message: 'core/ is pure TypeScript: state lives in src/state/.' },
          ],
          patterns: [
            ORT,
            CORNERSTONE,
            CODECS,
            PLOTLY,
            {
              group: ['node:*', 'fs', 'path', 'os'],
              message: 'core/ is pure: it must run in a browser worker too, so no Node built-ins.',
            },
            layer(
              ['runtime', 'viewer', 'batch', 'state', 'ui', 'app'],
              'core/ is the bottom layer: nothing in it may depend on a layer above.',
            ),
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'window', message: 'core/ is pure: no DOM.' },
        { name: 'document', message: 'core/ is pure: no DOM.' },
        { name: 'navigator', message: 'core/ is pure: capability probes live in src/runtime/.' },
        { name: 'localStorage', message: 'core/ is pure: persistence lives in src/state/ or src/batch/.' },
        { name: 'fetch', message: 'core/ is pure: network access lives in src/runtime/.' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Math',
          property: 'random',
          message: 'Use the seeded PRNG in core/prompts/rng: results must be reproducible.',
        },
      ],
    },
  },
  {
    // Each format's reader in core/io stands alone (listed by file: add a new reader here).
    files: ['src/core/io/**'],
    ignores: ['src/core/io/**/*.test.ts'],
    // The rule resolves imports to files; the default resolver knows no .ts.
    settings: {
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            ['NIfTI', 'src/core/io/nifti.ts'],
            ['NRRD', 'src/core/io/nrrd.ts'],
            ['MetaImage', 'src/core/io/metaimage.ts'],
            ['PNG/JPEG', 'src/core/io/raster.ts'],
            ['DICOM', 'src/core/io/dicom'],
          ].map(([format, path], _, all) => ({
            // The DICOM reader is every file in dicom/ but the writer and the index for the app.
            target: format === 'DICOM' ? 'src/core/io/dicom/!(write|seg-write|index).ts' : path,
            from: [
              ...all.filter(([f]) => f !== format).map(([, other]) => other),
              'src/core/io/dicom/write.ts',
              'src/core/io/dicom/seg-write.ts',
              'src/core/io/dicom/index.ts',
              'src/core/io/index.ts',
              'src/core/io/read-any.ts',
              'src/core/io/open.ts',
              'src/core/testing',
            ],
            message: `A ${format} reader imports only the shared helpers in core/io (budget, bytes, compression, companion, types), never another format's reader, a dispatcher (index, read-any, open) or the DICOM writer: formats stay independent and reading never pulls in the writer. Move what is shared into a helper.`,
          })),
        },
      ],
    },
  },
  {
    // Tests index into arrays they just built; a failed `!` shows up as a failing assertion anyway.
    files: ['**/*.test.ts', 'e2e/**', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // A test is its own composition root: it may wire layers together (a batch test drives real
    // pipelines), but it still must not import a heavy library outside the layer that owns it.
    files: ['src/**/*.test.ts'],
    ignores: ['src/runtime/**', 'src/codecs/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [ORT, CORNERSTONE, CODECS, PLOTLY] }] },
  },
  {
    // The benchmark measures the engines themselves, bare and native, beside the app.
    files: ['bench/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
