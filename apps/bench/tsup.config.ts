import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: {
      main: 'src/main.ts',
      'bandwidth-probe': 'src/bandwidth-probe.ts',
      'load-probe': 'src/tokenizers/load-probe.ts',
      'throughput-probe': 'src/tokenizers/throughput-probe.ts',
    },
    format: ['esm'],
    sourcemap: true,
    // Cleans all but the files the builds below write into the same folder at the same time.
    clean: ['**/*', '!onnx-process.js', '!browser-page.js'],
    target: 'node20',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // The onnxruntime-web child process, with the workspace packages bundled in, so it starts
    // even while a sibling package's dist is being rebuilt.
    entry: { 'onnx-process': 'src/onnx-process.ts' },
    format: ['esm'],
    clean: false,
    target: 'node20',
    platform: 'node',
    noExternal: [/^@rotor\//],
  },
  {
    // The `--browser` page, with every workspace package bundled in.
    entry: { 'browser-page': 'src/browser/page.ts' },
    format: ['esm'],
    clean: false,
    target: 'es2022',
    platform: 'browser',
    noExternal: [/.*/],
  },
]);
