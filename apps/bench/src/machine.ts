import { cpus, loadavg, totalmem } from 'node:os';
import { createDefaultBackendRegistry } from '@rotor/attention-core';
import type { MachineInfo } from './results.js';

/**
 * Describes this machine and every backend the default registry knows, created with `threads`
 * (with `registryOptions`: the GPU for WebGPU, software adapters allowed or not).
 */
export async function machineInfo(
  threads: number,
  registryOptions: Parameters<typeof createDefaultBackendRegistry>[0] = {},
): Promise<MachineInfo> {
  const registry = createDefaultBackendRegistry(registryOptions);
  const backends: MachineInfo['backends'] = [];
  for (const name of registry.names) {
    try {
      const selection = await registry.select(name, { threads });
      backends.push({ name, available: true, detail: selection.backend.description });
      selection.backend.destroy();
    } catch (error) {
      backends.push({
        name,
        available: false,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  }
  const list = cpus();
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
    node: process.version,
    threads,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    backends,
  };
}
