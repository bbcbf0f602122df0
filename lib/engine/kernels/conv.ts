/**
 * Stride-1 convolutions on NHWC float32 data in our own WebAssembly (`conv.wat`: relaxed-SIMD
 * multiply-adds, tiles of 4 pixels x 8 channels), for one thread. For the seed CNN's second
 * layer on one thread (CPU time, this project's machine): the filter gradient
 * ({@linkcode filterGradient}) takes 16 ms where XNNPACK's convolution form takes 31 ms, the input
 * gradient ({@linkcode convolve} of the padded dy) 26 ms against XNNPACK's 28 ms. For 3x3 filters
 * all three now run Winograd (`winograd.ts`, 1.7-2.6x faster); these kernels remain for other
 * filter sizes.
 *
 * The module keeps its own memory: inputs are copied in (with their zero padding) and results
 * copied out, which costs a few percent of the arithmetic.
 *
 * @module
 */
import { CONV_WASM_BASE64 } from "./conv_wasm.ts";

/** Zero rows/columns around the image: [top, bottom, left, right]. */
export type Padding = readonly [number, number, number, number];

interface ConvExports {
  memory: WebAssembly.Memory;
  conv_valid(
    x: number,
    w: number,
    out: number,
    n: number,
    h: number,
    wd: number,
    c: number,
    kh: number,
    kw: number,
    co: number,
  ): void;
  conv_filter_grad(
    x: number,
    dy: number,
    dw: number,
    n: number,
    h: number,
    wd: number,
    c: number,
    kh: number,
    kw: number,
    co: number,
  ): void;
}

let instance: ConvExports | undefined;

function kernels(): ConvExports {
  if (instance === undefined) {
    const bytes = Uint8Array.from(atob(CONV_WASM_BASE64), (ch) => ch.charCodeAt(0));
    const module = new WebAssembly.Module(bytes);
    instance = new WebAssembly.Instance(module).exports as unknown as ConvExports;
  }
  return instance;
}

/** Makes the module's memory hold at least `bytes` bytes; returns a fresh float view of it. */
function reserve(k: ConvExports, bytes: number): Float32Array {
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / 65_536));
  return new Float32Array(k.memory.buffer);
}

/** Copies x [n,h,w,c] into `mem` at float offset `at`, with `pad` zero rows/columns around. */
function copyPadded(
  mem: Float32Array,
  at: number,
  x: Float32Array,
  [n, h, w, c]: readonly number[],
  [top, bottom, left, right]: Padding,
): void {
  const ph = h + top + bottom, pw = w + left + right;
  if (top === 0 && bottom === 0 && left === 0 && right === 0) {
    mem.set(x.subarray(0, n * h * w * c), at);
    return;
  }
  mem.fill(0, at, at + n * ph * pw * c);
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < h; r++) {
      const src = ((b * h + r) * w) * c;
      const dst = at + ((b * ph + r + top) * pw + left) * c;
      mem.set(x.subarray(src, src + w * c), dst);
    }
  }
}

/** Whether {@linkcode convolve} takes a filter with `outChannels` (a multiple of 8). */
export function convolveSupports(outChannels: number): boolean {
  return outChannels > 0 && outChannels % 8 === 0;
}

/** Whether {@linkcode filterGradient} takes these channel counts (multiples of 4 and 8). */
export function filterGradientSupports(inChannels: number, outChannels: number): boolean {
  return inChannels > 0 && inChannels % 4 === 0 && convolveSupports(outChannels);
}

/** Copies `size` floats at byte `offset` out of the module into `out`, or a new array. */
function result(k: ConvExports, offset: number, size: number, out?: Float32Array): Float32Array {
  const view = new Float32Array(k.memory.buffer, offset, size);
  if (out === undefined) return view.slice();
  if (out.length !== size) {
    throw new RangeError(`The output array must hold ${size} floats, got ${out.length}.`);
  }
  out.set(view);
  return out;
}

function checkSize(name: string, data: Float32Array, shape: readonly number[]): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length < size || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(
      `${name} must hold [${shape.join(", ")}] = ${size} floats, got ${data.length}.`,
    );
  }
}

/**
 * out = conv2d(x, filter), stride 1, dilation 1, with explicit zero padding: x [n,h,w,c],
 * filter [kh,kw,c,co] (co a multiple of 8), out [n, h+top+bottom-kh+1, w+left+right-kw+1, co]
 * (written into `out` when given).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { convolve } from "./conv.ts";
 * // A 1x1 filter that copies channel 0 into all 8 output channels.
 * const filter = new Float32Array(8).fill(1);
 * const out = convolve(Float32Array.of(2, 3), [1, 1, 2, 1], filter, [1, 1, 1, 8], [0, 0, 0, 0]);
 * assert.deepEqual([...out], [2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]);
 * ```
 */
export function convolve(
  x: Float32Array,
  xShape: readonly [number, number, number, number],
  filter: Float32Array,
  filterShape: readonly [number, number, number, number],
  pad: Padding,
  out?: Float32Array,
): Float32Array {
  const [n, h, w, c] = xShape;
  const [kh, kw, fc, co] = filterShape;
  checkSize("x", x, xShape);
  checkSize("filter", filter, filterShape);
  if (fc !== c || !convolveSupports(co)) {
    throw new RangeError(
      `convolve needs a filter [kh, kw, ${c}, co] with co a multiple of 8, got [${filterShape}].`,
    );
  }
  const ph = h + pad[0] + pad[1], pw = w + pad[2] + pad[3];
  const oh = ph - kh + 1, ow = pw - kw + 1;
  if (oh < 1 || ow < 1) {
    throw new RangeError(`The filter ${kh}x${kw} is larger than the padded image ${ph}x${pw}.`);
  }
  const xSize = n * ph * pw * c, wSize = kh * kw * c * co, outSize = n * oh * ow * co;
  const k = kernels();
  const mem = reserve(k, 4 * (xSize + wSize + outSize));
  copyPadded(mem, 0, x, xShape, pad);
  mem.set(filter.subarray(0, wSize), xSize);
  k.conv_valid(0, 4 * xSize, 4 * (xSize + wSize), n, ph, pw, c, kh, kw, co);
  return result(k, 4 * (xSize + wSize), outSize, out);
}

/**
 * dW[kh,kw,ci,co] = sum over n,oh,ow of xpad[n,oh+kh,ow+kw,ci] * dy[n,oh,ow,co]: the filter
 * gradient of a stride-1 convolution of x [n,h,w,ci] padded by `pad`, with dy [n,oh,ow,co]
 * (ci a multiple of 4, co of 8); written into `out` when given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { filterGradient } from "./conv.ts";
 * // One pixel, 4 input channels, 8 output channels: dW = x^T dy.
 * const dw = filterGradient(Float32Array.of(1, 2, 3, 4), [1, 1, 1, 4], new Float32Array(8).fill(1), [1, 1, 4, 8], [0, 0, 0, 0]);
 * assert.deepEqual([...dw.subarray(0, 9)], [1, 1, 1, 1, 1, 1, 1, 1, 2]);
 * ```
 */
export function filterGradient(
  x: Float32Array,
  xShape: readonly [number, number, number, number],
  dy: Float32Array,
  filterShape: readonly [number, number, number, number],
  pad: Padding,
  out?: Float32Array,
): Float32Array {
  const [n, h, w, c] = xShape;
  const [kh, kw, fc, co] = filterShape;
  checkSize("x", x, xShape);
  if (fc !== c || !filterGradientSupports(c, co)) {
    throw new RangeError(
      `filterGradient needs a filter [kh, kw, ci, co] with ci = ${c} a multiple of 4 and co of ` +
        `8, got [${filterShape}].`,
    );
  }
  const ph = h + pad[0] + pad[1], pw = w + pad[2] + pad[3];
  const oh = ph - kh + 1, ow = pw - kw + 1;
  checkSize("dy", dy, [n, oh, ow, co]);
  const xSize = n * ph * pw * c, dySize = n * oh * ow * co, dwSize = kh * kw * c * co;
  const k = kernels();
  const mem = reserve(k, 4 * (xSize + dySize + dwSize));
  copyPadded(mem, 0, x, xShape, pad);
  mem.set(dy.subarray(0, dySize), xSize);
  k.conv_filter_grad(0, 4 * xSize, 4 * (xSize + dySize), n, ph, pw, c, kh, kw, co);
  return result(k, 4 * (xSize + dySize), dwSize, out);
}
