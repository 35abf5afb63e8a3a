/** The compiled kernels, base64-encoded; the `.js` beside this file is written by `scripts/build-wasm.mjs`. */

/** The kernels built with SIMD, importing a non-shared memory (single-threaded). */
export declare const SIMD_MODULE_BASE64: string;
/** The kernels built with SIMD and threads, importing a shared memory of at most 65536 pages. */
export declare const THREADS_MODULE_BASE64: string;
