/**
 * torch.nn.ModuleList and torch.nn.ModuleDict: modules held in a list or by key, registered as
 * children under PyTorch's names (`blocks.0.weight`, `heads.cls.weight`), so their parameters,
 * buffers and state-dict entries are the model's. Neither has a forward of its own.
 */
import { invalidArg, TorchError } from '../errors';
import { checkInt } from '../validate';
import { Module } from './module';

function checkModule(m: unknown, name: string): Module {
  if (!(m instanceof Module)) invalidArg('a Module', name, m);
  return m;
}

/** A list of modules, torch.nn.ModuleList. */
export class ModuleList extends Module implements Iterable<Module> {
  /** @internal */
  readonly _items: Module[] = [];
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }
  namedChildren(): [string, Module][] { return this._items.map((m, i) => [String(i), m]); }
  get length(): number { return this._items.length; }
  /** The i-th module (negative counts from the end). */
  at(i: number): Module {
    checkInt(i, 'index', { min: -this._items.length, max: this._items.length - 1 });
    return this._items[i < 0 ? i + this._items.length : i];
  }
  append(module: Module): this {
    this._items.push(checkModule(module, 'module'));
    return this;
  }
  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }
  insert(index: number, module: Module): void {
    checkInt(index, 'index', { min: -this._items.length, max: this._items.length });
    this._items.splice(index < 0 ? index + this._items.length : index, 0, checkModule(module, 'module'));
  }
  [Symbol.iterator](): Iterator<Module> { return this._items[Symbol.iterator](); }
  forward(): never {
    throw new TorchError('ModuleList has no forward: call its modules', 'ERR_INVALID_ARG');
  }
}

/** Modules by name, in insertion order, torch.nn.ModuleDict. */
export class ModuleDict extends Module {
  /** @internal */
  readonly _items = new Map<string, Module>();
  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    const entries = Symbol.iterator in Object(modules) ? modules as Iterable<[string, Module]> : Object.entries(modules as Record<string, Module>);
    for (const [k, m] of entries) this.set(k, m);
  }
  namedChildren(): [string, Module][] { return [...this._items]; }
  get size(): number { return this._items.size; }
  get(key: string): Module | undefined { return this._items.get(key); }
  has(key: string): boolean { return this._items.has(key); }
  set(key: string, module: Module): this {
    if (typeof key !== 'string' || key === '' || key.includes('.')) invalidArg('a non-empty key without "."', 'key', key);
    this._items.set(key, checkModule(module, `modules["${key}"]`));
    return this;
  }
  delete(key: string): boolean { return this._items.delete(key); }
  keys(): string[] { return [...this._items.keys()]; }
  values(): Module[] { return [...this._items.values()]; }
  entries(): [string, Module][] { return [...this._items]; }
  forward(): never {
    throw new TorchError('ModuleDict has no forward: call its modules', 'ERR_INVALID_ARG');
  }
}
