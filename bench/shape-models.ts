/**
 * Shape-equivalent encoders for benchmarks: the layer structure and FLOPs of the SAM ViT-B image encoder
 * and of the SAM 2 Hiera-tiny image encoder, with the real exports' output names and shapes, and weights
 * stored as a small random block tiled at load (ONNX Runtime constant-folds the Tile at session creation,
 * so a file well under a megabyte computes exactly like the full-size one).
 *
 * They are NOT SAM: they measure cost, never quality. Results from them are labelled "shape-equivalent".
 */
import { rngFromKey } from '../src/core/prompts/rng';
import { FIXTURE_PRODUCER_NAME } from '../src/core/models/onnx-header';
import { Graph, float, int, ints } from '../tools/fixtures/onnx-builder';

class B {
  private n = 0;
  constructor(readonly g: Graph) {}

  /** A weight of `shape` expanded from a block of at most 16 per dim (Tile, folded at load). */
  w(shape: readonly number[], scale = 0.02): string {
    const block = shape.map((d) => (d % 16 === 0 ? 16 : d));
    const count = block.reduce((a, b) => a * b, 1);
    const r = rngFromKey(`bench-w-${this.n++}`);
    const small = this.g.f(
      Array.from({ length: count }, () => (r.next() * 2 - 1) * scale),
      block,
      'wb',
    );
    if (block.every((b, i) => b === shape[i])) return small;
    return this.g.op('Tile', [small, this.g.i64(shape.map((d, i) => d / (block[i] ?? d)))]);
  }

  linear(x: string, din: number, dout: number, bias = true): string {
    const y = this.g.op('MatMul', [x, this.w([din, dout], 1 / Math.sqrt(din))]);
    return bias ? this.g.add(y, this.w([dout], 0.01)) : y;
  }

  ln(x: string, dim: number): string {
    const scale = this.g.f(new Array<number>(dim).fill(1), [dim], 'ln_s');
    const shift = this.g.f(new Array<number>(dim).fill(0), [dim], 'ln_b');
    return this.g.op('LayerNormalization', [x, scale, shift], { axis: int(-1), epsilon: float(1e-6) });
  }

  gelu(x: string): string {
    const g = this.g;
    const erf = g.op('Erf', [g.mul(x, g.s(Math.SQRT1_2))]);
    return g.mul(g.mul(x, g.s(0.5)), g.add(erf, g.s(1)));
  }

  /** Multi-head self-attention over [W, N, dim] (W windows of N tokens). */
  attention(x: string, windows: number, tokens: number, dim: number, heads: number, dout = dim): string {
    const g = this.g;
    const hd = dout / heads;
    const qkv = this.linear(x, dim, 3 * dout);
    const r = g.reshape(qkv, [windows, tokens, 3, heads, hd]);
    const t = g.op('Transpose', [r], { perm: ints([2, 0, 3, 1, 4]) }); // [3, W, h, N, hd]
    const q = g.reshape(g.slice(t, [0], [1], [0]), [windows, heads, tokens, hd]);
    const k = g.reshape(g.slice(t, [1], [2], [0]), [windows, heads, tokens, hd]);
    const v = g.reshape(g.slice(t, [2], [3], [0]), [windows, heads, tokens, hd]);
    const kt = g.op('Transpose', [k], { perm: ints([0, 1, 3, 2]) });
    const a = g.op('Softmax', [g.mul(g.op('MatMul', [q, kt]), g.s(1 / Math.sqrt(hd)))], { axis: int(-1) });
    const o = g.op('MatMul', [a, v]); // [W, h, N, hd]
    const back = g.reshape(g.op('Transpose', [o], { perm: ints([0, 2, 1, 3]) }), [windows, tokens, dout]);
    return this.linear(back, dout, dout);
  }

  /** [1, H, W, C] tokens → [nW, ws², C] windows (zero-padded to a multiple of ws), and back. */
  toWindows(
    x: string,
    h: number,
    w: number,
    c: number,
    ws: number,
  ): { win: string; n: number; ph: number; pw: number } {
    const g = this.g;
    const ph = Math.ceil(h / ws) * ws;
    const pw = Math.ceil(w / ws) * ws;
    let y = x;
    if (ph !== h || pw !== w)
      y = g.op('Pad', [x, g.i64([0, 0, 0, 0, 0, ph - h, pw - w, 0])], {
        mode: { kind: 'string', v: 'constant' },
      });
    const r = g.reshape(y, [1, ph / ws, ws, pw / ws, ws, c]);
    const t = g.op('Transpose', [r], { perm: ints([0, 1, 3, 2, 4, 5]) });
    const n = (ph / ws) * (pw / ws);
    return { win: g.reshape(t, [n, ws * ws, c]), n, ph, pw };
  }

  fromWindows(win: string, h: number, w: number, ph: number, pw: number, c: number, ws: number): string {
    const g = this.g;
    const r = g.reshape(win, [1, ph / ws, pw / ws, ws, ws, c]);
    const t = g.reshape(g.op('Transpose', [r], { perm: ints([0, 1, 3, 2, 4, 5]) }), [1, ph, pw, c]);
    return ph !== h || pw !== w ? g.slice(t, [0, 0], [h, w], [1, 2]) : t;
  }

  /** One transformer block on [1, H, W, C] tokens, windowed (ws > 0) or global (ws = 0). */
  block(x: string, h: number, w: number, c: number, heads: number, ws: number, mlpRatio = 4): string {
    const g = this.g;
    const n = this.ln(x, c);
    let a: string;
    if (ws > 0) {
      const { win, n: nw, ph, pw } = this.toWindows(n, h, w, c, ws);
      a = this.fromWindows(this.attention(win, nw, ws * ws, c, heads), h, w, ph, pw, c, ws);
    } else {
      a = g.reshape(this.attention(g.reshape(n, [1, h * w, c]), 1, h * w, c, heads), [1, h, w, c]);
    }
    const x1 = g.add(x, a);
    const m = this.linear(this.gelu(this.linear(this.ln(x1, c), c, c * mlpRatio)), c * mlpRatio, c);
    return g.add(x1, m);
  }

  conv(x: string, cin: number, cout: number, k: number, stride: number, pad: number, bias = true): string {
    return this.g.conv(
      x,
      this.w([cout, cin, k, k], 1 / Math.sqrt(cin * k * k)),
      bias ? this.w([cout], 0.01) : null,
      k,
      stride,
      pad,
    );
  }

  nhwc(x: string): string {
    return this.g.op('Transpose', [x], { perm: ints([0, 2, 3, 1]) });
  }

  nchw(x: string): string {
    return this.g.op('Transpose', [x], { perm: ints([0, 3, 1, 2]) });
  }
}

const META = (contract: string) => ({
  fixture: 'true',
  contract,
  role: 'encoder (shape-equivalent, benchmarks only)',
  note: 'synthetic, not SAM',
});
const DOC =
  'SHAPE-EQUIVALENT benchmark encoder generated by sam-compare: layer structure and FLOPs of the real encoder, random tiled weights. NOT SAM.';

/** SAM ViT-B image encoder shape: patch 16, 12 blocks of dim 768 (12 heads), 14×14 windows, global in 2/5/8/11, neck to 256. */
export function vitBShapeEncoder(): { bytes: Uint8Array; gmac: number } {
  const g = new Graph('vit_b_shape_encoder');
  const b = new B(g);
  const x = g.input('input_image', 'float32', [1, 3, 1024, 1024]);
  let t = b.nhwc(b.conv(x, 3, 768, 16, 16, 0)); // [1, 64, 64, 768]
  t = g.add(t, b.w([1, 64, 64, 768], 0.02));
  for (let i = 0; i < 12; i++) t = b.block(t, 64, 64, 768, 12, [2, 5, 8, 11].includes(i) ? 0 : 14);
  let y = b.conv(b.nchw(t), 768, 256, 1, 1, 0, false);
  y = b.nchw(b.ln(b.nhwc(y), 256));
  y = b.conv(y, 256, 256, 3, 1, 1, false);
  y = b.nchw(b.ln(b.nhwc(y), 256));
  g.output(y, 'image_embeddings', 'float32', [1, 256, 64, 64]);
  const bytes = g.toBytes(META('sam1-meta'), FIXTURE_PRODUCER_NAME, DOC);
  // MACs: patch embed, 12 × (qkv + proj + mlp), attention (8 windowed, 4 global), neck.
  const T = 4096;
  const lin = T * 768 * (3 * 768 + 768 + 2 * 3072);
  const winAttn = 25 * 196 * 196 * 768 * 2;
  const globAttn = T * T * 768 * 2;
  const gmac =
    (T * 768 * 768 + 12 * lin + 8 * winAttn + 4 * globAttn + T * 768 * 256 + T * 256 * 256 * 9) / 1e9;
  return { bytes, gmac };
}

/**
 * SAM 2 Hiera-tiny image encoder shape: patch 7/4 to 96 channels, stages [1, 2, 7, 2] of dims
 * [96, 192, 384, 768] (heads 1/2/4/8), windows 8/4/14/7 with global attention in blocks 5, 7, 9, 2×2
 * pooling between stages, an FPN neck to 256 and the decoder's high-resolution projections.
 */
export function hieraTShapeEncoder(): { bytes: Uint8Array; gmac: number } {
  const g = new Graph('hiera_t_shape_encoder');
  const b = new B(g);
  const x = g.input('image', 'float32', [1, 3, 1024, 1024]);
  let t = b.nhwc(b.conv(x, 3, 96, 7, 4, 3)); // [1, 256, 256, 96]
  t = g.add(t, b.w([1, 256, 256, 96], 0.02));
  const stages = [
    { n: 1, c: 96, heads: 1, ws: 8, res: 256 },
    { n: 2, c: 192, heads: 2, ws: 4, res: 128 },
    { n: 7, c: 384, heads: 4, ws: 14, res: 64 },
    { n: 2, c: 768, heads: 8, ws: 7, res: 32 },
  ];
  const global = new Set([5, 7, 9]);
  const feats: string[] = [];
  let blockIndex = 0;
  let cPrev = 96;
  let macs = 65536 * 3 * 49 * 96;
  for (const [si, s] of stages.entries()) {
    if (si > 0) {
      // Downsample 2×2 (Hiera's q-pooling) and widen the channels.
      const pooled = b.nhwc(
        g.op('MaxPool', [b.nchw(t)], {
          kernel_shape: ints([2, 2]),
          strides: ints([2, 2]),
          pads: ints([0, 0, 0, 0]),
        }),
      );
      t = b.linear(pooled, cPrev, s.c);
      macs += s.res * s.res * cPrev * s.c;
    }
    for (let k = 0; k < s.n; k++) {
      const ws = global.has(blockIndex) ? 0 : s.ws;
      t = b.block(t, s.res, s.res, s.c, s.heads, ws);
      const T = s.res * s.res;
      macs += T * s.c * (3 * s.c + s.c + 8 * s.c);
      macs += ws === 0 ? T * T * s.c * 2 : Math.ceil(s.res / ws) ** 2 * (ws * ws) ** 2 * s.c * 2;
      blockIndex++;
    }
    feats.push(t);
    cPrev = s.c;
  }
  // FPN: lateral 1×1 convs to 256 at strides 4, 8, 16 (the 32 level feeds the top-down path).
  const lat = feats.map((f, i) => {
    const s = stages[i];
    if (!s) throw new Error('stage');
    macs += s.res * s.res * s.c * 256;
    return b.conv(b.nchw(f), s.c, 256, 1, 1, 0);
  });
  const up = (v: string) =>
    g.op('Resize', [v, '', g.f([1, 1, 2, 2], [4])], { mode: { kind: 'string', v: 'nearest' } });
  const [l0, l1, l2, l3] = lat as [string, string, string, string];
  const p2 = g.add(l2, up(l3));
  const p1 = g.add(l1, up(p2));
  const p0 = g.add(l0, up(p1));
  const f0 = b.conv(p0, 256, 32, 1, 1, 0);
  const f1 = b.conv(p1, 256, 64, 1, 1, 0);
  macs += 65536 * 256 * 32 + 16384 * 256 * 64;
  g.output(f0, 'high_res_feats_0', 'float32', [1, 32, 256, 256]);
  g.output(f1, 'high_res_feats_1', 'float32', [1, 64, 128, 128]);
  g.output(g.add(p2, b.w([1, 256, 1, 1], 0.02)), 'image_embed', 'float32', [1, 256, 64, 64]);
  const bytes = g.toBytes(META('sam2-samexporter'), FIXTURE_PRODUCER_NAME, DOC);
  return { bytes, gmac: macs / 1e9 };
}
