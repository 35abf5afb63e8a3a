/** Placeholder entry of the demo page; the demo issue replaces it with the Vite app. */
export const demoName = 'rotor-demo';
