/**
 * The complexity of self-attention made visible: prefill time against prompt length (the
 * quadratic attention term on top of the linear rest) and decode time per token against position.
 */
import { randomLlamaWeights } from '@rotor/decoder-model';
import { measure } from '../harness.js';
import { instantiate, promptIds } from '../models.js';
import { type Suite, type SuiteContext, speedBackends } from '../suite.js';

const SHAPE = {
  modelDim: 64,
  hiddenDim: 172,
  numLayers: 5,
  numHeads: 8,
  numKvHeads: 4,
  vocabSize: 512,
  maxSequenceLength: 2048,
};

export const scalingSuite: Suite = {
  name: 'scaling',
  tasks({ quick }) {
    const lengths = quick ? [32, 128, 512] : [32, 64, 128, 256, 512, 1024, 2048];
    return [
      {
        name: 'prefill vs prompt length',
        async run(context: SuiteContext) {
          const weights = randomLlamaWeights(SHAPE, 3);
          for (const backend of speedBackends(context)) {
            const model = await instantiate(weights, backend);
            for (const length of lengths) {
              const ids = promptIds(length, SHAPE.vocabSize);
              const { median, spread, runs } = await measure(() => model.forward(ids, 0), {
                warmup: 1,
                minRuns: 3,
                minTimeMs: 100,
              });
              context.record({
                suite: 'scaling',
                name: `prefill T=${length}`,
                backend: backend.name,
                metric: 'prefill time',
                value: median,
                unit: 'ms',
                spread,
                runs,
              });
            }
            model.dispose();
          }
        },
      },
      {
        name: 'decode vs position',
        async run(context: SuiteContext) {
          const weights = randomLlamaWeights(SHAPE, 3);
          for (const backend of speedBackends(context)) {
            const model = await instantiate(weights, backend);
            const next = new Int32Array([5]);
            const logits = new Float32Array(SHAPE.vocabSize);
            for (const position of lengths.map((l) => l - 1)) {
              await model.forward(promptIds(position, SHAPE.vocabSize), 0);
              const start = performance.now();
              let steps = 0;
              while (steps < 5 || performance.now() - start < 50) {
                await model.forward(next, position, logits);
                steps++;
              }
              const value = (performance.now() - start) / steps;
              context.record({
                suite: 'scaling',
                name: `decode at position ${position}`,
                backend: backend.name,
                metric: 'decode time',
                value,
                unit: 'ms/token',
                runs: steps,
              });
            }
            model.dispose();
          }
        },
      },
    ];
  },
};
