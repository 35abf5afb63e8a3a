import { defineConfig } from 'tsup';
import { libraryBuild } from '../../tsup.base';

export default defineConfig(
  libraryBuild(
    {
      index: 'src/index.ts',
      'conformance/index': 'src/conformance/index.ts',
      'node/index': 'src/node/index.ts',
    },
    // The public API names WebGPU types (GPU, GPUDevice); consumers get them through this reference.
    { dtsBanner: '/// <reference types="@webgpu/types" />' },
  ),
);
