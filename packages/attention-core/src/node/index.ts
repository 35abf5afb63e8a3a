/**
 * `@rotor/attention-core/node`: Node-only helpers. {@link createNodeGpu} gives Node a WebGPU entry
 * point (Dawn, from the npm package `webgpu`) to pass to `webgpuBackend({ gpu })` or
 * `createDefaultBackendRegistry({ gpu })`.
 */
/// <reference types="@webgpu/types" />
import { existsSync } from 'node:fs';
import { BackendUnavailableError } from '@rotor/core';

/** Where Debian's and Ubuntu's Chromium packages install the SwiftShader Vulkan driver's manifest. */
export const SWIFTSHADER_ICD_PATHS: readonly string[] = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
];

/** The first SwiftShader ICD manifest found on this machine, or undefined. */
export function findSwiftShaderIcd(): string | undefined {
  return SWIFTSHADER_ICD_PATHS.find((path) => existsSync(path));
}

/**
 * Held for the life of the process: Dawn tears its instance down when the object `create()`
 * returned is collected, and crashes if devices made from it are still in use.
 */
let nodeGpu: GPU | undefined;

/** Options of {@link createNodeGpu}. */
export interface NodeGpuOptions {
  /**
   * Use the SwiftShader software Vulkan driver when `VK_ICD_FILENAMES` is not set and Chromium's
   * copy is installed (the only Vulkan driver on a machine without a GPU). Default true.
   */
  readonly swiftShader?: boolean;
}

/**
 * Dawn's WebGPU entry point for Node, created once per process and kept alive. Set
 * `VK_ICD_FILENAMES` to pick a Vulkan driver; otherwise Chromium's SwiftShader is used when present.
 * Needs the optional dependency `webgpu` and a Vulkan loader (`libvulkan.so.1`, Debian `libvulkan1`).
 * Throws {@link BackendUnavailableError} when `webgpu` is not installed.
 */
export async function createNodeGpu(options: NodeGpuOptions = {}): Promise<GPU> {
  if (nodeGpu !== undefined) return nodeGpu;
  if (options.swiftShader !== false && process.env.VK_ICD_FILENAMES === undefined) {
    const icd = findSwiftShaderIcd();
    if (icd !== undefined) process.env.VK_ICD_FILENAMES = icd;
  }
  let dawn: { create(flags: string[]): GPU };
  try {
    dawn = await import('webgpu');
  } catch (error) {
    throw new BackendUnavailableError(
      'backend webgpu: the npm package "webgpu" (Dawn for Node) is not installed; add it to your dependencies',
      { cause: error },
    );
  }
  nodeGpu = dawn.create([]);
  return nodeGpu;
}
