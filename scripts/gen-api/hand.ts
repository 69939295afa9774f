/**
 * What the generator (scripts/gen-api/generate.ts) is told by hand:
 * - handWritten(): the names lib/ already has, written by hand (they keep their hand-written
 *   versions and messages). Read from the loaded modules: a generated function carries the
 *   GENERATED mark, a hand-written one does not.
 * - HAND_PY: Python-level functions that map onto an aten operator of another name or need
 *   their Python signature told.
 * - EXCLUDED: public Python names that have no place in JavaScript, with the reason.
 */
import { Tensor } from '../../lib/tensor';
import '../../lib/ops';
import { GENERATED, PythonSignature } from '../../lib/api/public-op';
import * as index from '../../lib/index';
import * as functional from '../../lib/nn/functional';

function handNames(obj: object): Set<string> {
  const out = new Set<string>();
  for (const name of Object.getOwnPropertyNames(obj)) {
    let v: unknown = null;
    try {
      v = (obj as Record<string, unknown>)[name]; // module re-exports are getters; Tensor's getters throw here
    } catch {
      v = null;
    }
    if (typeof v === 'function' && (v as { [GENERATED]?: true })[GENERATED]) continue;
    out.add(name);
  }
  return out;
}

export function handWritten(): Record<string, Set<string>> {
  const tensor = handNames(Tensor.prototype);
  // getters (shape, dtype, grad, T...) are hand-written too
  const torch = handNames(index);
  const sub = (o: unknown) => (o && typeof o === 'object' ? handNames(o) : new Set<string>());
  const idx = index as unknown as Record<string, unknown>;
  return {
    torch_fns: torch,
    tensor,
    linalg: sub(idx.linalg),
    special: sub(idx.special),
    fft: sub(idx.fft),
    functional: handNames(functional),
  };
}

const input = { input: 'self' };

/** Python functions over an aten operator with another name or signature. */
export const HAND_PY: Record<string, Record<string, { aten: string; py?: PythonSignature }>> = {
  torch_fns: {
    // torch.functional's Python wrappers whose aten operator has the same arguments
    einsum: { aten: 'einsum', py: { params: ['equation', 'operands'], packFrom: 1, renames: { operands: 'tensors' } } },
    broadcast_tensors: { aten: 'broadcast_tensors', py: { params: ['tensors'], packFrom: 0 } },
    block_diag: { aten: 'block_diag', py: { params: ['tensors'], packFrom: 0 } },
    cartesian_prod: { aten: 'cartesian_prod', py: { params: ['tensors'], packFrom: 0 } },
    atleast_1d: { aten: 'atleast_1d' },
    atleast_2d: { aten: 'atleast_2d' },
    atleast_3d: { aten: 'atleast_3d' },
    chain_matmul: { aten: 'chain_matmul', py: { params: ['matrices'], packFrom: 0 } },
    meshgrid: { aten: 'meshgrid', py: { params: ['tensors', 'indexing'], packFrom: 0 } },
    cdist: { aten: 'cdist', py: { params: ['x1', 'x2', 'p', 'compute_mode'], dropped: ['compute_mode'] } },
    split: { aten: 'split', py: { params: ['tensor', 'split_size_or_sections', 'dim'], renames: { tensor: 'self', split_size_or_sections: 'split_size' } } },
  },
  functional: {
    logsigmoid: { aten: 'log_sigmoid' },
    ...Object.fromEntries(['dropout1d', 'dropout2d', 'dropout3d'].map((n) => [n, {
      aten: 'feature_dropout',
      py: { params: ['input', 'p', 'training', 'inplace'], renames: { training: 'train' }, inplaceOp: 'feature_dropout_', defaults: { p: 0.5, training: true } },
    }])),
    unfold: { aten: 'im2col', py: { params: ['input', 'kernel_size', 'dilation', 'padding', 'stride'], renames: input, defaults: { dilation: 1, padding: 0, stride: 1 } } },
    fold: { aten: 'col2im', py: { params: ['input', 'output_size', 'kernel_size', 'dilation', 'padding', 'stride'], renames: input, defaults: { dilation: 1, padding: 0, stride: 1 } } },
    ...Object.fromEntries([1, 2, 3].map((d) => [`max_pool${d}d`, {
      aten: `max_pool${d}d`,
      py: { params: ['input', 'kernel_size', 'stride', 'padding', 'dilation', 'ceil_mode', 'return_indices'], renames: input, indicesOp: `max_pool${d}d_with_indices` },
    }])),
    ...Object.fromEntries([1, 2, 3].map((d) => [`adaptive_max_pool${d}d`, {
      aten: `adaptive_max_pool${d}d`,
      py: { params: ['input', 'output_size', 'return_indices'], renames: input, indicesResult: true },
    }])),
  },
};

/** Public names with no JavaScript form, by namespace, with the reason. */
export const EXCLUDED: Record<string, Record<string, string>> = {
  torch_fns: Object.fromEntries([
    ...['save', 'load', 'manual_seed', 'seed', 'initial_seed', 'get_rng_state', 'set_rng_state'].map((n) => [n, 'torchrnn has its own (torch.save/load/manualSeed/getRngState/setRngState)']),
    ...['from_numpy', 'from_dlpack', 'as_tensor', 'asarray', 'frombuffer', 'typename', 'is_storage', 'set_default_tensor_type', 'set_printoptions', 'compiled_with_cxx11_abi', 'classproperty', 'get_file_path', 'prepare_multiprocessing_environment', 'Callable', 'Set', 'Union', 'Tuple', 'List', 'Optional']
      .map((n) => [n, 'Python-only (numpy, storages, printing, typing or interpreter utilities)']),
  ]),
  tensor: Object.fromEntries([
    ...['numpy', 'tolist', 'storage', 'storage_offset', 'storage_type', 'untyped_storage', 'data_ptr', 'share_memory_', 'is_shared', 'pin_memory', 'is_pinned', 'element_size', 'new', 'type', 'apply_', 'map_', 'map2_', 'register_hook', 'reinforce', 'dim_order', 'refine_names', 'rename', 'rename_', 'align_as', 'align_to', 'has_names', 'as_subclass', 'module_load', 'record_stream', 'set_', 'resize_', 'resize_as_']
      .map((n) => [n, 'Python-only or named-tensor API (storages, numpy, hooks, named tensors, raw memory)']),
  ]),
};

/**
 * Heavy functions that also get an `<name>Async` form (a job on the executor thread): every
 * torch.linalg and torch.fft function, and these of torch.*.
 */
export const ASYNC: Record<string, Set<string> | 'all'> = {
  linalg: 'all',
  fft: 'all',
  torch_fns: new Set([
    'cdist', 'einsum', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d', 'kron',
    'tensordot', 'cholesky', 'cholesky_solve', 'cholesky_inverse', 'qr', 'svd', 'pinverse', 'inverse', 'det', 'logdet', 'slogdet',
    'triangular_solve', 'matrix_exp', 'matrix_power', 'baddbmm', 'addbmm', 'addmm', 'chain_matmul', 'sort', 'argsort', 'topk',
    'kthvalue', 'median', 'nanmedian', 'quantile', 'nanquantile', 'cumsum', 'cumprod', 'logcumsumexp', 'histc', 'bincount',
    'multinomial', 'stft', 'istft', 'lu_solve', 'geqrf', 'ormqr', 'orgqr', 'cummax', 'cummin', 'trapezoid', 'cumulative_trapezoid',
  ]),
};
