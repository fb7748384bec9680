// CEL runtime values shared by the library and the schema type mapping: errors raised by library
// functions and CEL's structural equality over the engine's value representations.

/** An error a library function raises; its message is what the rule's cause reports. */
export class CelRuntimeError extends Error {
  readonly code = "CEL_RUNTIME";
}

export function celError(message: string): CelRuntimeError {
  return new CelRuntimeError(message);
}

/** CEL equality (types.Equal) over engine values: numbers compare across int/double, containers deeply. */
export function celEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) {
    // biome-ignore lint/suspicious/noDoubleEquals: CEL compares int and double by value
    return a == b;
  }
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (isDuration(a) && isDuration(b)) return a.seconds === b.seconds && a.nanos === b.nanos;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => celEqual(x, b[i]));
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [key, value] of a) if (!b.has(key) || !celEqual(value, b.get(key))) return false;
    return true;
  }
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    const keys = Object.keys(left);
    if (keys.length !== Object.keys(right).length) return false;
    return keys.every((key) => Object.hasOwn(right, key) && celEqual(left[key], right[key]));
  }
  return false;
}

interface DurationLike {
  readonly seconds: bigint;
  readonly nanos: number;
}

function isDuration(value: unknown): value is DurationLike {
  return typeof value === "object" && value !== null && value.constructor.name === "Duration";
}
