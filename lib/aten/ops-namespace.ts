/**
 * `torch.ops`: every operator registered in libtorch's dispatcher, called by name as Python's
 * torch.ops does: `torch.ops.aten.topk(x, 3, { dim: 1 })` resolves the overload from the
 * arguments, `torch.ops.aten.add.Tensor(x, y)` names it (`.default` is the unnamed overload).
 * Other namespaces work the same way (`torch.ops.torchrnn.lstm_layer`, `torch.ops.quantized`).
 * Argument rules and results: lib/aten/bind.ts.
 */
import { TorchError } from '../errors';
import { libtorchVersion } from '../compat';
import { callOverloads, callOverloadsAsync } from './bind';
import { formatSchema, namespaces, operatorNames, overloadsOf, Schema } from './schema';

/* eslint-disable @typescript-eslint/no-explicit-any */
/** One overload: `torch.ops.aten.add.Tensor`. */
export interface OpOverload {
  (...args: any[]): any;
  /** The same call as a job on the executor thread (for heavy operators): a Promise of the results. */
  callAsync(...args: any[]): Promise<any>;
  /** The schema text, as PyTorch prints it. */
  readonly schema: string;
}
/** All overloads of one name: callable (resolves the overload), and each overload by name. */
export interface OpPacket {
  (...args: any[]): any;
  /** The same call as a job on the executor thread (for heavy operators): a Promise of the results. */
  callAsync(...args: any[]): Promise<any>;
  /** The overload names ('default' for the unnamed one), as Python's `.overloads()`. */
  overloads(): string[];
  readonly schemas: string[];
  readonly [overload: string]: any;
}
export type OpNamespace = { readonly [name: string]: OpPacket };
export type Ops = { readonly [ns: string]: OpNamespace };
/* eslint-enable @typescript-eslint/no-explicit-any */

function unknownOp(what: string): never {
  throw new TorchError(`${what} is not an operator of libtorch ${libtorchVersion}`, 'ERR_UNSUPPORTED');
}

function overloadFn(s: Schema, label: string): OpOverload {
  const list = [s];
  const fn = (...args: unknown[]) => callOverloads(list, args, label);
  Object.defineProperty(fn, 'schema', { value: formatSchema(s) });
  Object.defineProperty(fn, 'callAsync', { value: (...args: unknown[]) => callOverloadsAsync(list, args, label) });
  Object.defineProperty(fn, 'name', { value: label });
  return fn as OpOverload;
}

function makePacket(ns: string, name: string): OpPacket {
  const qualified = `${ns}::${name}`;
  const overloads = overloadsOf(qualified);
  if (overloads.length === 0) unknownOp(`torch.ops.${ns}.${name}`);
  const label = `torch.ops.${ns}.${name}`;
  const byOverload = new Map<string, OpOverload>();
  const call = (...args: unknown[]) => callOverloads(overloads, args, label);
  return new Proxy(call, {
    get(target, prop) {
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'apply' || prop === 'call' || prop === 'bind') return Reflect.get(target, prop);
      if (prop === 'overloads') return () => overloads.map((s) => s.overload || 'default');
      if (prop === 'callAsync') return (...args: unknown[]) => callOverloadsAsync(overloads, args, label);
      if (prop === 'schemas') return overloads.map(formatSchema);
      if (prop === 'name' || prop === 'length') return prop === 'name' ? label : Reflect.get(target, prop);
      const overload = prop === 'default' ? '' : prop;
      let fn = byOverload.get(overload);
      if (!fn) {
        const s = overloads.find((o) => o.overload === overload);
        if (!s) unknownOp(`${label}.${prop}`);
        fn = overloadFn(s, `${label}.${prop}`);
        byOverload.set(overload, fn);
      }
      return fn;
    },
  }) as unknown as OpPacket;
}

function makeNamespace(ns: string): OpNamespace {
  const packets = new Map<string, OpPacket>();
  const packet = (prop: string): OpPacket => {
    let p = packets.get(prop);
    if (!p) packets.set(prop, (p = makePacket(ns, prop)));
    return p;
  };
  return new Proxy({} as OpNamespace, {
    get(_, prop) {
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
      return packet(prop);
    },
    has(_, prop) {
      return typeof prop === 'string' && overloadsOf(`${ns}::${prop}`).length > 0;
    },
    ownKeys() {
      return operatorNames(ns);
    },
    getOwnPropertyDescriptor(_, prop) {
      if (typeof prop !== 'string' || overloadsOf(`${ns}::${prop}`).length === 0) return undefined;
      return { enumerable: true, configurable: true, value: packet(prop) };
    },
  });
}

const spaces = new Map<string, OpNamespace>();
function space(prop: string): OpNamespace {
  let s = spaces.get(prop);
  if (!s) spaces.set(prop, (s = makeNamespace(prop)));
  return s;
}

/** `torch.ops`: `torch.ops.<namespace>.<operator>[.<overload>](...)`. */
export const ops: Ops = new Proxy({} as Ops, {
  get(_, prop) {
    if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
    return space(prop);
  },
  has(_, prop) {
    return typeof prop === 'string' && namespaces().includes(prop);
  },
  ownKeys() {
    return namespaces();
  },
  getOwnPropertyDescriptor(_, prop) {
    if (typeof prop !== 'string' || !namespaces().includes(prop)) return undefined;
    return { enumerable: true, configurable: true, value: space(prop) };
  },
});
