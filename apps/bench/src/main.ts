/** Placeholder entry of the benchmarks; the bench issue replaces it. */
export const benchName = 'rotor-bench';
