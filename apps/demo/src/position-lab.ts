/**
 * Drawings of a positional encoding: the encoding matrix as a heatmap, chosen dimensions as
 * curves, and RoPE's rotation and relative-distance dot product. Plain canvas, no chart library.
 */
import type { PositionalEncoding } from '@rotor/core';
import { encodingMatrix, rotaryAngles } from '@rotor/positional-encodings';

/** Diverging blue–white–red colour for v in [-1, 1]. */
function colour(v: number): [number, number, number] {
  const t = Math.max(-1, Math.min(1, v));
  return t < 0
    ? [Math.round(255 * (1 + t)), Math.round(255 * (1 + t)), 255]
    : [255, Math.round(255 * (1 - t)), Math.round(255 * (1 - t))];
}

function clear(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  return context;
}

/** Heatmap of the encoding matrix; returns a caption describing what is drawn. */
export function drawHeatmap(
  canvas: HTMLCanvasElement,
  encoding: PositionalEncoding,
  positions: number,
): string {
  const context = clear(canvas);
  const matrix = encodingMatrix(encoding, positions);
  if (matrix.dims === 0) {
    context.fillStyle = '#333';
    context.font = '14px sans-serif';
    context.fillText('No positional signal: this strategy adds nothing.', 16, 32);
    return 'none: no table to draw; only the causal mask carries order.';
  }
  let scale = 0;
  for (const v of matrix.values) scale = Math.max(scale, Math.abs(v));
  const image = context.createImageData(canvas.width, canvas.height);
  for (let y = 0; y < canvas.height; y++) {
    const row = Math.floor((y * matrix.positions) / canvas.height);
    for (let x = 0; x < canvas.width; x++) {
      const column = Math.floor((x * matrix.dims) / canvas.width);
      const [r, g, b] = colour(matrix.values[row * matrix.dims + column] / (scale || 1));
      const at = (y * canvas.width + x) * 4;
      image.data.set([r, g, b, 255], at);
    }
  }
  context.putImageData(image, 0, 0);
  const what = {
    additive: 'values added to the embeddings',
    rotary: 'cos/sin of every rotation pair',
    'score-bias': 'score bias per head against distance',
    none: '',
  }[matrix.kind];
  return `${matrix.kind}: ${what}; ${matrix.positions} positions × ${matrix.dims} columns (blue −, red +).`;
}

/** Chosen columns of the encoding matrix over position. */
export function drawCurves(
  canvas: HTMLCanvasElement,
  encoding: PositionalEncoding,
  positions: number,
  dims: number[],
): void {
  const context = clear(canvas);
  const matrix = encodingMatrix(encoding, positions);
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
  let scale = 0;
  for (const v of matrix.values) scale = Math.max(scale, Math.abs(v));
  const y = (v: number) => canvas.height / 2 - (v / (scale || 1)) * (canvas.height / 2 - 8);
  context.strokeStyle = '#bbb';
  context.beginPath();
  context.moveTo(0, canvas.height / 2);
  context.lineTo(canvas.width, canvas.height / 2);
  context.stroke();
  dims
    .filter((d) => d >= 0 && d < matrix.dims)
    .forEach((d, k) => {
      context.strokeStyle = palette[k % palette.length];
      context.beginPath();
      for (let p = 0; p < matrix.positions; p++) {
        const x = (p / (matrix.positions - 1)) * canvas.width;
        const value = y(matrix.values[p * matrix.dims + d]);
        if (p === 0) context.moveTo(x, value);
        else context.lineTo(x, value);
      }
      context.stroke();
      context.fillStyle = palette[k % palette.length];
      context.fillText(`dim ${d}`, 8 + 56 * k, 14);
    });
}

/** RoPE: pair `pair` of a unit query rotating with position, and Σ cos(Δ·θ_i) against distance Δ. */
export function drawRopeView(
  canvas: HTMLCanvasElement,
  encoding: PositionalEncoding,
  positions: number,
  pair: number,
): void {
  const context = clear(canvas);
  context.fillStyle = '#333';
  context.font = '13px sans-serif';
  if (!encoding.hooks.rotary) {
    context.fillText('This strategy does not rotate queries and keys.', 16, 28);
    return;
  }
  const angles = rotaryAngles(encoding, positions);
  const i = Math.min(Math.max(0, pair), angles.dims - 1);
  const radius = canvas.height / 2 - 20;
  const cx = radius + 20;
  const cy = canvas.height / 2;
  context.strokeStyle = '#bbb';
  context.beginPath();
  context.arc(cx, cy, radius, 0, 2 * Math.PI);
  context.stroke();
  for (let p = 0; p < Math.min(positions, 64); p++) {
    const a = angles.values[p * angles.dims + i];
    context.fillStyle = `hsl(${(p * 360) / 64}, 70%, 45%)`;
    context.beginPath();
    context.arc(cx + radius * Math.cos(a), cy - radius * Math.sin(a), 3, 0, 2 * Math.PI);
    context.fill();
  }
  context.fillStyle = '#333';
  context.fillText(`pair ${i}: positions 0–63`, 8, 14);
  // q·k for q = k = (1, 0) in every pair: Σ_i cos(Δ θ_i), with θ_i read off position 1's angles.
  const left = 2 * radius + 60;
  const width = canvas.width - left - 10;
  const dots: number[] = [];
  for (let delta = 0; delta < positions; delta++) {
    let sum = 0;
    for (let k = 0; k < angles.dims; k++) sum += Math.cos(delta * angles.values[angles.dims + k]);
    dots.push(sum / angles.dims);
  }
  context.strokeStyle = '#bbb';
  context.strokeRect(left, 10, width, canvas.height - 30);
  context.strokeStyle = '#d62728';
  context.beginPath();
  dots.forEach((d, delta) => {
    const x = left + (delta / (positions - 1)) * width;
    const yy = 10 + ((1 - d) / 2) * (canvas.height - 30);
    if (delta === 0) context.moveTo(x, yy);
    else context.lineTo(x, yy);
  });
  context.stroke();
  context.fillText('q·k (normalised) against distance m − n', left, canvas.height - 4);
}

/** Attention weights `[T, T]` of one head as a heatmap: white 0, dark blue 1 (square-root scaled so small weights show). */
export function drawAttention(
  canvas: HTMLCanvasElement,
  weights: Float32Array,
  head: number,
  length: number,
): void {
  const context = clear(canvas);
  const image = context.createImageData(canvas.width, canvas.height);
  const offset = head * length * length;
  for (let y = 0; y < canvas.height; y++) {
    const i = Math.floor((y * length) / canvas.height);
    for (let x = 0; x < canvas.width; x++) {
      const j = Math.floor((x * length) / canvas.width);
      const v = Math.sqrt(weights[offset + i * length + j]);
      image.data.set(
        [Math.round(255 * (1 - v)), Math.round(255 * (1 - 0.8 * v)), Math.round(255 - 90 * v), 255],
        (y * canvas.width + x) * 4,
      );
    }
  }
  context.putImageData(image, 0, 0);
}
