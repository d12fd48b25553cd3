// tfjs-node 4.22 calls util.isNullOrUndefined, which Node 23 removed (tfjs issue #8609): loading it on a
// newer Node (recent Electron) throws "util.isNullOrUndefined is not a function" at the first tensor.
// Installing the old function before tfjs-node is required keeps it working.

interface UtilLike {
  isNullOrUndefined?: unknown;
}

/** The function Node <= 22 shipped (deprecated since Node 4). */
export function isNullOrUndefined(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/**
 * Adds util.isNullOrUndefined to the given util module object when it is missing. Returns true when the
 * shim was installed, false when the function already existed (left untouched).
 */
export function installUtilShim(util: UtilLike): boolean {
  if (typeof util.isNullOrUndefined === 'function') return false;
  Object.defineProperty(util, 'isNullOrUndefined', {
    value: isNullOrUndefined,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  return true;
}
