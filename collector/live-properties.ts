/**
 * Read-only live properties added to an object after it is made. V8 makes an object literal
 * that has a getter a dictionary, so that every property read of it (`table.add`, per packet)
 * is a hash lookup through the generic inline cache; an object given its getters afterwards
 * keeps a fast shape. Use this for the objects the hot paths call into.
 */
export function withLiveProperties<T extends object, G extends Record<string, () => unknown>>(
  target: T,
  getters: G,
): T & { readonly [K in keyof G]: ReturnType<G[K]> } {
  for (const [name, get] of Object.entries(getters)) {
    Object.defineProperty(target, name, { get, enumerable: true });
  }
  return target as T & { readonly [K in keyof G]: ReturnType<G[K]> };
}
