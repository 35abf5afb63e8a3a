import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { main: 'src/main.ts', 'load-probe': 'src/tokenizers/load-probe.ts' },
  format: ['esm'],
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  banner: { js: '#!/usr/bin/env node' },
});
