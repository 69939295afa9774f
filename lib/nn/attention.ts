/**
 * torch.nn.MultiheadAttention and its functional form, torch.nn.functional's
 * multi_head_attention_forward, composed of libtorch operators exactly as PyTorch's Python code
 * composes them (linear, view/transpose, baddbmm/bmm, softmax, dropout; on 2.x without weights,
 * scaled_dot_product_attention), so values and gradients are PyTorch's.
 *
 * What follows the running libtorch line (each line's PyTorch does it so):
 * - masks: 1.13 keeps a bool attnMask bool until the end and merges a bool attnMask with a float
 *   keyPaddingMask by logical_or (a nonzero float masks the key); 2.x turns every bool mask into
 *   a float one (true → -inf) first and adds the two masks. Two float masks are added on both
 *   lines (PyTorch 1.13 itself cannot merge them: masked_fill wants a bool mask).
 * - needWeights false: 2.x computes the attention with scaled_dot_product_attention; 1.13 the same
 *   way as with weights. isCausal (a hint that attnMask is the causal mask) exists on 2.x only.
 * - PyTorch's eval-mode "fast path" (torch._native_multi_head_attention, taken without gradients
 *   for batch-first self-attention) is not taken: the composed path computes the same values
 *   (equal within float rounding; test/35 compares with fixtures made on that path).
 */
import '../api/generated/tensor'; // the aten methods used here (repeat, logicalOr, maskedFill_)
import { baddbmm, empty } from '../api/generated/torch';
import { dropout as dropoutFn, linear, pad, scaledDotProductAttention, softmax } from '../api/generated/functional';
import { libtorchAtLeast, libtorchVersion } from '../compat';
import { zeros, zerosLike } from '../creation';
import { DType, isFloating } from '../dtype';
import { invalidArg, TorchError } from '../errors';
import { none, pyArgs, warnOnce } from '../aten/python-args';
import { cat } from '../ops';
import { checkTensor, Tensor, tidy } from '../tensor';
import { checkBool, checkInt, checkNumber, checkOptions } from '../validate';
import * as init from './init';
import { Linear } from './layers';
import { Module, Parameter } from './module';

/** 2.x's semantics (canonical float masks, scaled_dot_product_attention, isCausal). */
const V2 = libtorchAtLeast(2, 0);

export interface MultiheadAttentionOptions {
  /** Dropout probability on the attention weights (training mode only). Default 0. */
  dropout?: number;
  /** Biases in the input and output projections. Default true. */
  bias?: boolean;
  /** Learned bias_k / bias_v appended to the keys and values as one more source position. Default false. */
  addBiasKv?: boolean;
  /** Append a zero key and value (one more source position) after the projection. Default false. */
  addZeroAttn?: boolean;
  /** Features of the keys. Default (undefined or null): embedDim. */
  kdim?: number | null;
  /** Features of the values. Default (undefined or null): embedDim. */
  vdim?: number | null;
  /** Batched input and output are [N, L, E] instead of [L, N, E]. Default false. */
  batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /**
   * [N, S] ([S] unbatched): keys to ignore. Bool: true ignores the key; floating point (the
   * query's dtype): added to the attention scores.
   */
  keyPaddingMask?: Tensor | null;
  /** Also return the attention weights. Default true. */
  needWeights?: boolean;
  /**
   * [L, S] (every batch entry and head) or [N·numHeads, L, S] ([numHeads, L, S] unbatched):
   * bool (true: may not attend) or floating point (the query's dtype, added to the scores).
   */
  attnMask?: Tensor | null;
  /** The weights averaged over heads ([N, L, S]) or per head ([N, numHeads, L, S]). Default true. */
  averageAttnWeights?: boolean;
  /** libtorch 2.x: a hint that attnMask is the causal mask (attnMask is still required). Default false. */
  isCausal?: boolean;
}

export interface MultiHeadAttentionForwardOptions extends MultiheadAttentionForwardOptions {
  /** Dropout is applied only when true. Default true. */
  training?: boolean;
  /** Use qProjWeight, kProjWeight, vProjWeight instead of inProjWeight. Default false. */
  useSeparateProjWeight?: boolean;
  qProjWeight?: Tensor | null;
  kProjWeight?: Tensor | null;
  vProjWeight?: Tensor | null;
  /** Projected keys / values [N·numHeads, S, headDim] used instead of projecting key / value. */
  staticK?: Tensor | null;
  staticV?: Tensor | null;
}

/** The result: the attention output and the weights (null without needWeights). */
export type AttentionResult = [Tensor, Tensor | null];

const shapeStr = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

const optionalTensor = (v: unknown, name: string): Tensor | null => (none(v) ? null : checkTensor(v, name));
const shaped = (t: Tensor | null, shape: number[], name: string, what: string): void => {
  if (t !== null && !sameShape(t.shape, shape)) invalidArg(`a tensor of shape ${shapeStr(shape)} (${what})`, name, t);
};
const maskDtype = (m: Tensor | null, q: Tensor, name: string): void => {
  if (m !== null && m.dtype !== 'bool' && m.dtype !== q.dtype) invalidArg(`a bool or ${q.dtype} (the query's dtype) tensor`, name, m);
};

/** 2.x's _canonical_mask: a bool mask becomes a float one of the query's dtype, -inf where true. */
function canonical(m: Tensor | null, dtype: DType): Tensor | null {
  if (m === null || m.dtype !== 'bool') return m;
  return zerosLike(m, { dtype }).maskedFill_(m, -Infinity);
}

interface Resolved {
  query: Tensor; key: Tensor; value: Tensor;
  embedDim: number; numHeads: number;
  inProjWeight: Tensor | null; inProjBias: Tensor | null;
  biasK: Tensor | null; biasV: Tensor | null;
  addZeroAttn: boolean; dropoutP: number;
  outProjWeight: Tensor; outProjBias: Tensor | null;
  training: boolean; keyPaddingMask: Tensor | null; needWeights: boolean; attnMask: Tensor | null;
  useSeparate: boolean; qProjWeight: Tensor | null; kProjWeight: Tensor | null; vProjWeight: Tensor | null;
  staticK: Tensor | null; staticV: Tensor | null;
  averageAttnWeights: boolean; isCausal: boolean;
}

/** The checks of PyTorch's _mha_shape_check and multi_head_attention_forward, with torchrnn's messages. */
function validate(r: Resolved, batchFirst: boolean): void {
  const { query: q, key: k, value: v, embedDim: E, numHeads: H } = r;
  if (!isFloating(q.dtype)) invalidArg('a floating-point tensor', 'query', q);
  if (q.dim() !== 2 && q.dim() !== 3) invalidArg('a 2-D (unbatched) or 3-D (batched) tensor', 'query', q);
  const batched = q.dim() === 3;
  for (const [t, name] of [[k, 'key'], [v, 'value']] as const) {
    if (t.dim() !== q.dim()) invalidArg(`a ${q.dim()}-D tensor (as the query is)`, name, t);
    if (t.dtype !== q.dtype) invalidArg(`a ${q.dtype} tensor (the query's dtype)`, name, t);
  }
  const seqDim = batched && batchFirst ? 1 : 0;
  const batchDim = batched ? (batchFirst ? 0 : 1) : -1;
  const L = q.shape[seqDim];
  const S = k.shape[seqDim];
  const N = batched ? q.shape[batchDim] : 1;
  if (q.shape[q.dim() - 1] !== E) invalidArg(`a tensor whose last dimension is ${E} (embedDim)`, 'query', q);
  const kdim = r.useSeparate && r.kProjWeight ? r.kProjWeight.shape[1] : E;
  const vdim = r.useSeparate && r.vProjWeight ? r.vProjWeight.shape[1] : E;
  if (k.shape[k.dim() - 1] !== kdim) invalidArg(`a tensor whose last dimension is ${kdim} (kdim)`, 'key', k);
  if (v.shape[v.dim() - 1] !== vdim) invalidArg(`a tensor whose last dimension is ${vdim} (vdim)`, 'value', v);
  if (batched) {
    if (k.shape[batchDim] !== N) invalidArg(`a tensor with the query's batch size (${N})`, 'key', k);
    if (v.shape[batchDim] !== N) invalidArg(`a tensor with the query's batch size (${N})`, 'value', v);
  }
  if (v.shape[seqDim] !== S) invalidArg(`a tensor with the key's sequence length (${S})`, 'value', v);
  // with staticK, its length is the source length (PyTorch checks the masks against it, or fails in baddbmm)
  const src = r.staticK !== null ? r.staticK.shape[1] : S;
  const srcWhat = r.staticK !== null ? "staticK's length" : "the key's sequence length";
  const kpm = r.keyPaddingMask;
  maskDtype(kpm, q, 'keyPaddingMask');
  shaped(kpm, batched ? [N, src] : [src], 'keyPaddingMask', batched ? `batch size, ${srcWhat}` : srcWhat);
  const am = r.attnMask;
  maskDtype(am, q, 'attnMask');
  if (am !== null) {
    const three = [N * H, L, src];
    if (!((am.dim() === 2 && sameShape(am.shape, [L, src])) || (am.dim() === 3 && sameShape(am.shape, three)))) {
      const n3 = batched ? 'batch size × numHeads' : 'numHeads';
      const lens = r.staticK !== null ? "the query's sequence length, staticK's length" : "the query's and the key's sequence lengths";
      invalidArg(`a tensor of shape ${shapeStr([L, src])} or ${shapeStr(three)} (${n3}, ${lens})`, 'attnMask', am);
    }
  }
  if (r.isCausal && am === null) {
    invalidArg('a mask when isCausal is true (isCausal is a hint that attnMask is the causal mask; it does not replace it)', 'attnMask', am);
  }
  // parameters (the module's are right by construction; the functional form's may not be)
  const hd = Math.floor(E / H);
  if (hd * H !== E) invalidArg(`an embedDim divisible by numHeads (${H})`, 'embedDimToCheck', E);
  const weight = (t: Tensor | null, shape: number[], name: string) => {
    if (t === null) invalidArg(`a tensor of shape ${shapeStr(shape)}`, name, t);
    shaped(t, shape, name, name);
    if (t.dtype !== q.dtype) invalidArg(`a ${q.dtype} tensor (the query's dtype)`, name, t);
  };
  if (r.useSeparate) {
    weight(r.qProjWeight, [E, E], 'qProjWeight');
    weight(r.kProjWeight, [E, kdim], 'kProjWeight');
    weight(r.vProjWeight, [E, vdim], 'vProjWeight');
  } else {
    weight(r.inProjWeight, [3 * E, E], 'inProjWeight');
  }
  if (r.inProjBias !== null) weight(r.inProjBias, [3 * E], 'inProjBias');
  if ((r.biasK === null) !== (r.biasV === null)) invalidArg('a tensor (biasK and biasV come together)', r.biasK === null ? 'biasK' : 'biasV', null);
  if (r.biasK !== null) { weight(r.biasK, [1, 1, E], 'biasK'); weight(r.biasV, [1, 1, E], 'biasV'); }
  if (r.outProjWeight.dim() !== 2 || r.outProjWeight.shape[1] !== E) invalidArg(`a 2-D tensor of ${E} columns (embedDim)`, 'outProjWeight', r.outProjWeight);
  if (r.outProjWeight.dtype !== q.dtype) invalidArg(`a ${q.dtype} tensor (the query's dtype)`, 'outProjWeight', r.outProjWeight);
  if (r.outProjBias !== null) weight(r.outProjBias, [r.outProjWeight.shape[0]], 'outProjBias');
  for (const [t, name] of [[r.staticK, 'staticK'], [r.staticV, 'staticV']] as const) {
    if (t === null) continue;
    if (r.biasK !== null) invalidArg(`null for ${name} when biasK and biasV are given (the bias cannot be added to a static key or value)`, name, t);
    if (t.dim() !== 3 || t.shape[0] !== N * H || t.shape[2] !== hd) invalidArg(`a tensor of shape [${N * H}, S, ${hd}] (batch size × numHeads, any length, headDim)`, name, t);
    if (t.dtype !== q.dtype) invalidArg(`a ${q.dtype} tensor (the query's dtype)`, name, t);
  }
  if (r.staticV !== null && r.staticV.shape[1] !== src) invalidArg(`a tensor of length ${src} (${srcWhat})`, 'staticV', r.staticV);
}

/**
 * PyTorch's multi_head_attention_forward on sequence-first tensors ([L, N, E]; batchFirst: the
 * module's layout, transposed here as the module does). Validates, then computes.
 */
function attend(r: Resolved, batchFirst: boolean): AttentionResult {
  validate(r, batchFirst);
  return tidy(() => {
    let { query, key, value } = r;
    const batched = query.dim() === 3;
    if (batched && batchFirst) {
      // keep the identities (self- and encoder-decoder attention take other paths)
      if (key === value) {
        if (query === key) query = key = value = query.transpose(1, 0);
        else { query = query.transpose(1, 0); key = value = key.transpose(1, 0); }
      } else {
        [query, key, value] = [query.transpose(1, 0), key.transpose(1, 0), value.transpose(1, 0)];
      }
    }
    let { keyPaddingMask: kpm, attnMask, isCausal } = r;
    if (!batched) {
      if (key === value) {
        if (query === key) query = key = value = query.unsqueeze(1);
        else { query = query.unsqueeze(1); key = value = key.unsqueeze(1); }
      } else {
        [query, key, value] = [query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)];
      }
      if (kpm !== null) kpm = kpm.unsqueeze(0);
    }
    const [tgtLen, bsz, embedDim] = query.shape;
    const [H, dtype] = [r.numHeads, query.dtype];
    const headDim = embedDim / H;

    if (V2) {
      if (kpm !== null && attnMask !== null && kpm.dtype !== attnMask.dtype) {
        warnOnce('Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both instead.');
      }
      kpm = canonical(kpm, dtype);
      if (isCausal && kpm === null && !r.needWeights) {
        attnMask = null;
      } else {
        attnMask = canonical(attnMask, dtype);
        if (kpm !== null) isCausal = false;
      }
    }

    // in-projection
    let q: Tensor, k: Tensor, v: Tensor;
    if (!r.useSeparate) {
      const w = r.inProjWeight!;
      const b = r.inProjBias;
      if (key === value) {
        if (query === key) {
          [q, k, v] = linear(query, w, b).chunk(3, -1);
        } else {
          const [wq, wkv] = w.split([embedDim, 2 * embedDim]);
          const [bq, bkv] = b === null ? [null, null] : b.split([embedDim, 2 * embedDim]);
          q = linear(query, wq, bq);
          [k, v] = linear(key, wkv, bkv).chunk(2, -1);
        }
      } else {
        const [wq, wk, wv] = w.chunk(3);
        const [bq, bk, bv] = b === null ? [null, null, null] : b.chunk(3);
        [q, k, v] = [linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)];
      }
    } else {
      const [bq, bk, bv] = r.inProjBias === null ? [null, null, null] : r.inProjBias.chunk(3);
      [q, k, v] = [linear(query, r.qProjWeight!, bq), linear(key, r.kProjWeight!, bk), linear(value, r.vProjWeight!, bv)];
    }

    if (attnMask !== null && attnMask.dim() === 2) attnMask = attnMask.unsqueeze(0);

    if (r.biasK !== null && r.biasV !== null) {
      k = cat([k, r.biasK.repeat([1, bsz, 1])]);
      v = cat([v, r.biasV.repeat([1, bsz, 1])]);
      if (attnMask !== null) attnMask = pad(attnMask, [0, 1]);
      if (kpm !== null) kpm = pad(kpm, [0, 1]);
    }

    q = q.contiguous().view(tgtLen, bsz * H, headDim).transpose(0, 1);
    k = r.staticK ?? k.contiguous().view(k.shape[0], bsz * H, headDim).transpose(0, 1);
    v = r.staticV ?? v.contiguous().view(v.shape[0], bsz * H, headDim).transpose(0, 1);

    if (r.addZeroAttn) {
      k = cat([k, zeros([bsz * H, 1, headDim], { dtype: k.dtype, device: k.device })], 1);
      v = cat([v, zeros([bsz * H, 1, headDim], { dtype: v.dtype, device: v.device })], 1);
      if (attnMask !== null) attnMask = pad(attnMask, [0, 1]);
      if (kpm !== null) kpm = pad(kpm, [0, 1]);
    }
    const srcLen = k.shape[1];

    if (kpm !== null) {
      kpm = kpm.view(bsz, 1, 1, srcLen).expand(-1, H, -1, -1).reshape(bsz * H, 1, srcLen);
      if (attnMask === null) attnMask = kpm;
      else if (V2) attnMask = attnMask.add(kpm);
      else if (attnMask.dtype === 'bool') attnMask = attnMask.logicalOr(kpm);
      else if (kpm.dtype === 'bool') attnMask = attnMask.maskedFill(kpm, -Infinity);
      else attnMask = attnMask.add(kpm); // PyTorch 1.13 raises here (masked_fill wants a bool mask); 2.x adds
    }
    if (attnMask !== null && attnMask.dtype === 'bool') attnMask = zerosLike(attnMask, { dtype }).maskedFill_(attnMask, -Infinity);

    const dropoutP = r.training ? r.dropoutP : 0;

    if (r.needWeights || !V2) {
      const E = q.shape[2];
      const qScaled = V2 ? q.mul(Math.sqrt(1 / E)) : q.div(Math.sqrt(E));
      let weights = attnMask !== null ? baddbmm(attnMask, qScaled, k.transpose(-2, -1)) : qScaled.bmm(k.transpose(-2, -1));
      weights = softmax(weights, -1);
      if (dropoutP > 0) weights = dropoutFn(weights, { p: dropoutP });
      let out = weights.bmm(v);
      out = out.transpose(0, 1).contiguous().view(tgtLen * bsz, embedDim);
      out = linear(out, r.outProjWeight, r.outProjBias);
      out = out.view(tgtLen, bsz, out.shape[1]);
      if (batched && batchFirst) out = out.transpose(1, 0);
      if (!r.needWeights) return [batched ? out : out.squeeze(1), null];
      weights = weights.view(bsz, H, tgtLen, srcLen);
      if (r.averageAttnWeights) weights = V2 ? weights.mean(1) : weights.sum(1).div(H);
      return batched ? [out, weights] : [out.squeeze(1), weights.squeeze(0)];
    }
    // 2.x without weights: scaled_dot_product_attention
    if (attnMask !== null) {
      attnMask = attnMask.shape[0] === 1 && attnMask.dim() === 3 ? attnMask.unsqueeze(0) : attnMask.view(bsz, H, -1, srcLen);
    }
    q = q.view(bsz, H, tgtLen, headDim);
    k = k.view(bsz, H, srcLen, headDim);
    v = v.view(bsz, H, srcLen, headDim);
    let out = scaledDotProductAttention(q, k, v, attnMask, dropoutP, isCausal);
    out = out.permute(2, 0, 1, 3).contiguous().view(bsz * tgtLen, embedDim);
    out = linear(out, r.outProjWeight, r.outProjBias);
    out = out.view(tgtLen, bsz, out.shape[1]);
    if (batched && batchFirst) out = out.transpose(1, 0);
    return [batched ? out : out.squeeze(1), null];
  });
}

function isCausalOf(value: unknown, label: string): boolean {
  if (value === undefined) return false;
  if (!V2) throw new TorchError(`options.isCausal of ${label} is not available in libtorch ${libtorchVersion}; libtorch 2.6 has it`, 'ERR_UNSUPPORTED');
  return checkBool(value, 'isCausal');
}

function probability(value: unknown, name: string): number {
  const p = checkNumber(value, name);
  if (!(p >= 0 && p <= 1)) invalidArg('a probability in [0, 1]', name, p);
  return p;
}

const MHA_PARAMS = ['query', 'key', 'value', 'embedDimToCheck', 'numHeads', 'inProjWeight', 'inProjBias', 'biasK', 'biasV', 'addZeroAttn',
  'dropoutP', 'outProjWeight', 'outProjBias', 'training', 'keyPaddingMask', 'needWeights', 'attnMask', 'useSeparateProjWeight',
  'qProjWeight', 'kProjWeight', 'vProjWeight', 'staticK', 'staticV', 'averageAttnWeights', 'isCausal'] as const;
const MHA_LABEL = 'torch.nn.functional.multi_head_attention_forward';

/**
 * PyTorch's torch.nn.functional.multi_head_attention_forward: attention of query [L, N, E]
 * ([L, E] unbatched) over key [S, N, kdim] and value [S, N, vdim] with the given projection
 * weights; returns [output [L, N, E], weights [N, L, S] (per head: [N, numHeads, L, S]) or
 * null]. Python's positional parameters stay positional; the keyword ones (training,
 * keyPaddingMask, needWeights, attnMask, useSeparateProjWeight, qProjWeight, kProjWeight,
 * vProjWeight, staticK, staticV, averageAttnWeights, isCausal) may go in a trailing options
 * object. nn.MultiheadAttention calls it with its parameters.
 * @example const [out, w] = F.multiHeadAttentionForward(x, x, x, 8, 2, inW, inB, null, null, false, 0, outW, outB);
 */
export function multiHeadAttentionForward(query: Tensor, key: Tensor, value: Tensor, embedDimToCheck: number, numHeads: number,
  inProjWeight: Tensor | null, inProjBias: Tensor | null, biasK: Tensor | null, biasV: Tensor | null, addZeroAttn: boolean, dropoutP: number,
  outProjWeight: Tensor, outProjBias: Tensor | null, opts?: MultiHeadAttentionForwardOptions): AttentionResult;
export function multiHeadAttentionForward(...args: unknown[]): AttentionResult {
  const a = pyArgs(MHA_LABEL, args, MHA_PARAMS);
  const bool = (v: unknown, name: string, dflt: boolean) => (none(v) ? dflt : checkBool(v, name));
  const embedDim = checkInt(a.embedDimToCheck, 'embedDimToCheck', { min: 1 });
  const t = (name: keyof typeof a & string) => optionalTensor(a[name], name);
  const r: Resolved = {
    query: checkTensor(a.query, 'query'), key: checkTensor(a.key, 'key'), value: checkTensor(a.value, 'value'),
    embedDim, numHeads: checkInt(a.numHeads, 'numHeads', { min: 1 }),
    inProjWeight: t('inProjWeight'), inProjBias: t('inProjBias'), biasK: t('biasK'), biasV: t('biasV'),
    addZeroAttn: checkBool(a.addZeroAttn, 'addZeroAttn'), dropoutP: probability(a.dropoutP, 'dropoutP'),
    outProjWeight: checkTensor(a.outProjWeight, 'outProjWeight'), outProjBias: t('outProjBias'),
    training: bool(a.training, 'training', true), keyPaddingMask: t('keyPaddingMask'),
    needWeights: bool(a.needWeights, 'needWeights', true), attnMask: t('attnMask'),
    useSeparate: bool(a.useSeparateProjWeight, 'useSeparateProjWeight', false),
    qProjWeight: t('qProjWeight'), kProjWeight: t('kProjWeight'), vProjWeight: t('vProjWeight'), staticK: t('staticK'), staticV: t('staticV'),
    averageAttnWeights: bool(a.averageAttnWeights, 'averageAttnWeights', true), isCausal: isCausalOf(a.isCausal, MHA_LABEL),
  };
  return attend(r, false);
}

/** torch.nn.modules.linear.NonDynamicallyQuantizableLinear: a Linear under the name MultiheadAttention's repr shows. */
export class NonDynamicallyQuantizableLinear extends Linear {}

const FORWARD_LABEL = 'torch.nn.MultiheadAttention.forward';

/**
 * Multi-head attention, torch.nn.MultiheadAttention: PyTorch's parameters under PyTorch's names
 * (in_proj_weight [3E, E] and in_proj_bias [3E], or q_proj_weight, k_proj_weight,
 * v_proj_weight when kdim or vdim differ from embedDim; out_proj, a Linear; bias_k, bias_v
 * [1, 1, E] with addBiasKv) and PyTorch's initialization, so after `torch.manualSeed(s)` they
 * equal Python's. forward(query, key, value, opts) returns [output, weights or null].
 * @example
 * const mha = new nn.MultiheadAttention(64, 4, { batchFirst: true });
 * const [out, weights] = mha.forward(x, x, x, { keyPaddingMask: pad });
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly numHeads: number;
  /** The dropout probability on the attention weights (training mode only). */
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly headDim: number;
  readonly addZeroAttn: boolean;
  /** @internal kdim and vdim equal embedDim: one packed in_proj_weight. */
  readonly _qkvSameEmbedDim: boolean;
  // parameters: PyTorch's attribute names (state-dict keys), in PyTorch's order
  in_proj_weight: Parameter | null = null;
  q_proj_weight: Parameter | null = null;
  k_proj_weight: Parameter | null = null;
  v_proj_weight: Parameter | null = null;
  in_proj_bias: Parameter | null = null;
  out_proj: NonDynamicallyQuantizableLinear;
  bias_k: Parameter | null = null;
  bias_v: Parameter | null = null;

  constructor(embedDim: number, numHeads: number, opts?: MultiheadAttentionOptions) {
    super();
    const o = checkOptions<MultiheadAttentionOptions>(opts, 'options', ['dropout', 'bias', 'addBiasKv', 'addZeroAttn', 'kdim', 'vdim', 'batchFirst']);
    const E = this.embedDim = checkInt(embedDim, 'embedDim', { min: 1 });
    this.numHeads = checkInt(numHeads, 'numHeads', { min: 1 });
    if (E % this.numHeads !== 0) invalidArg(`an embedDim divisible by numHeads (${this.numHeads})`, 'embedDim', E);
    this.kdim = none(o.kdim) ? E : checkInt(o.kdim, 'kdim', { min: 1 });
    this.vdim = none(o.vdim) ? E : checkInt(o.vdim, 'vdim', { min: 1 });
    this._qkvSameEmbedDim = this.kdim === E && this.vdim === E;
    this.dropout = o.dropout === undefined ? 0 : probability(o.dropout, 'dropout');
    this.batchFirst = o.batchFirst === undefined ? false : checkBool(o.batchFirst, 'batchFirst');
    this.headDim = E / this.numHeads;
    this.addZeroAttn = o.addZeroAttn === undefined ? false : checkBool(o.addZeroAttn, 'addZeroAttn');
    const bias = o.bias === undefined ? true : checkBool(o.bias, 'bias');
    const addBiasKv = o.addBiasKv === undefined ? false : checkBool(o.addBiasKv, 'addBiasKv');
    // PyTorch's __init__: empty() takes no random numbers; out_proj's own initialization does,
    // before _reset_parameters
    if (this._qkvSameEmbedDim) {
      this.in_proj_weight = new Parameter(empty([3 * E, E]));
    } else {
      this.q_proj_weight = new Parameter(empty([E, E]));
      this.k_proj_weight = new Parameter(empty([E, this.kdim]));
      this.v_proj_weight = new Parameter(empty([E, this.vdim]));
    }
    if (bias) this.in_proj_bias = new Parameter(empty([3 * E]));
    this.out_proj = new NonDynamicallyQuantizableLinear(E, E, { bias });
    if (addBiasKv) {
      this.bias_k = new Parameter(empty([1, 1, E]));
      this.bias_v = new Parameter(empty([1, 1, E]));
    }
    this._resetParameters();
  }

  /** PyTorch's _reset_parameters: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k / bias_v. */
  private _resetParameters(): void {
    if (this._qkvSameEmbedDim) {
      init.xavierUniform_(this.in_proj_weight!);
    } else {
      init.xavierUniform_(this.q_proj_weight!);
      init.xavierUniform_(this.k_proj_weight!);
      init.xavierUniform_(this.v_proj_weight!);
    }
    if (this.in_proj_bias !== null) {
      init.constant_(this.in_proj_bias, 0);
      init.constant_(this.out_proj.bias!, 0);
    }
    if (this.bias_k !== null) init.xavierNormal_(this.bias_k);
    if (this.bias_v !== null) init.xavierNormal_(this.bias_v);
  }

  /**
   * Attention of query over key and value: query [L, N, E] ([N, L, E] with batchFirst, [L, E]
   * unbatched), key [S, N, kdim], value [S, N, vdim] (the same layouts). Pass the same tensor
   * as query, key and value for self-attention. Returns [output (the query's layout),
   * weights [N, L, S] (averaged over heads; [N, numHeads, L, S] with averageAttnWeights false;
   * no N unbatched) or null without needWeights].
   */
  forward(query: Tensor, key: Tensor, value: Tensor, opts?: MultiheadAttentionForwardOptions): AttentionResult {
    this._checkLive('module');
    const o = checkOptions<MultiheadAttentionForwardOptions>(opts, 'options', ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights', 'isCausal']);
    const q = checkTensor(query, 'query');
    const k = checkTensor(key, 'key');
    const v = checkTensor(value, 'value');
    const w = (this.in_proj_weight ?? this.q_proj_weight)!;
    if (q.dtype !== w.dtype) invalidArg(`a ${w.dtype} tensor (the module's dtype)`, 'query', q);
    const r: Resolved = {
      query: q, key: k, value: v, embedDim: this.embedDim, numHeads: this.numHeads,
      inProjWeight: this.in_proj_weight, inProjBias: this.in_proj_bias, biasK: this.bias_k, biasV: this.bias_v,
      addZeroAttn: this.addZeroAttn, dropoutP: this.dropout, outProjWeight: this.out_proj.weight, outProjBias: this.out_proj.bias ?? null,
      training: this.training, keyPaddingMask: optionalTensor(o.keyPaddingMask, 'keyPaddingMask'),
      needWeights: o.needWeights === undefined ? true : checkBool(o.needWeights, 'needWeights'),
      attnMask: optionalTensor(o.attnMask, 'attnMask'),
      useSeparate: !this._qkvSameEmbedDim,
      qProjWeight: this.q_proj_weight, kProjWeight: this.k_proj_weight, vProjWeight: this.v_proj_weight,
      staticK: null, staticV: null,
      averageAttnWeights: o.averageAttnWeights === undefined ? true : checkBool(o.averageAttnWeights, 'averageAttnWeights'),
      isCausal: isCausalOf(o.isCausal, FORWARD_LABEL),
    };
    return attend(r, this.batchFirst);
  }

  /** forward() once every job queued before it has finished (see Module.forwardAsync). */
  forwardAsync(query: Tensor, key: Tensor, value: Tensor, opts?: MultiheadAttentionForwardOptions): Promise<AttentionResult> {
    return super.forwardAsync(query, key, value, opts) as Promise<AttentionResult>;
  }
}
