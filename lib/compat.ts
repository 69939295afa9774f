/**
 * What differs in lib/ between the libtorch lines torchrnn runs on (1.13 and 2.x; tested: Debian
 * 12's 1.13.1 and Debian 13's 2.6.0), decided once from the version the addon was built against.
 * The native side's differences are in native/compat.h. Every other module asks here instead of
 * reading a version itself.
 *
 * What differs:
 * - `torch.load(weights_only=True)`'s allow-list, which the restricted unpickler follows
 *   (lib/serialization/pickle/globals.ts): by 2.6 it had added sets, bytes, complex, Counter,
 *   torch.device, the new dtypes and the newer tensor-rebuilding functions, and dropped
 *   _rebuild_sparse_csr_tensor. The releases between 1.13 and 2.6 differ in detail and are not
 *   tested: they get 1.13's list, which is the stricter one.
 * - ReduceLROnPlateau's state (lib/optim/lr-scheduler/plateau.ts): 2.x keeps `default_min_lr`, the
 *   scalar minLr it was made with, and gives groups added later that floor.
 */
import { native } from './binding';

/** The libtorch version the addon was built against, e.g. '1.13.0' or '2.6.0'. */
export const libtorchVersion: string = native.buildInfo().libtorch;

const [major, minor] = libtorchVersion.split('.').map((n) => parseInt(n, 10));

/** True when the running libtorch is `maj.min` or newer. */
export function libtorchAtLeast(maj: number, min: number): boolean {
  return major > maj || (major === maj && minor >= min);
}

/** The line of PyTorch the addon runs on, for messages and tests: '1.13' or '2.6'. */
export const libtorchLine = `${major}.${minor}`;

/** Whether ReduceLROnPlateau keeps default_min_lr in its state, as 2.6's does. */
export const plateauDefaultMinLr: boolean = libtorchAtLeast(2, 6);

/** Which torch.load(weights_only=True) allow-list the unpickler follows: 1.13's or 2.6's. */
export const weightsOnlyList: '1.13' | '2.6' = libtorchAtLeast(2, 6) ? '2.6' : '1.13';
