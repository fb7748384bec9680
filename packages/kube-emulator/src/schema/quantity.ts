// resource.Quantity (apimachinery/pkg/api/resource/quantity.go) as an exact rational number:
// enough for the "quantity" format and CEL's quantity library (compare, add, sub, isInteger...).

export interface Quantity {
  /** The value is num / den, den > 0. */
  readonly num: bigint;
  readonly den: bigint;
}

const binarySI: Record<string, bigint> = {
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
};
const decimalSI: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const grammar = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

export function makeQuantity(num: bigint, den = 1n): Quantity {
  const sign = den < 0n ? -1n : 1n;
  const divisor = gcd(num, den);
  return { num: (sign * num) / divisor, den: (sign * den) / divisor };
}

/** Parses a quantity string; undefined when it is not one. */
export function parseQuantity(text: string): Quantity | undefined {
  const match = grammar.exec(text);
  if (!match) return undefined;
  const [, sign = "", digits = "", suffix = ""] = match;
  const [whole = "", fraction = ""] = digits.split(".");
  let num = BigInt(`${whole || "0"}${fraction}`);
  let den = 10n ** BigInt(fraction.length);
  if (sign === "-") num = -num;
  if (suffix in binarySI) num *= binarySI[suffix] as bigint;
  else {
    const exponent =
      suffix.startsWith("e") || suffix.startsWith("E") ? Number(suffix.slice(1)) : decimalSI[suffix];
    if (exponent === undefined || Math.abs(exponent) > 1000) return undefined;
    if (exponent >= 0) num *= 10n ** BigInt(exponent);
    else den *= 10n ** BigInt(-exponent);
  }
  return makeQuantity(num, den);
}

export function compareQuantities(a: Quantity, b: Quantity): number {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return makeQuantity(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function negateQuantity(a: Quantity): Quantity {
  return makeQuantity(-a.num, a.den);
}

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** The value as an int64, or undefined when it has a fraction or overflows (Quantity.AsInt64). */
export function quantityAsInt64(q: Quantity): bigint | undefined {
  if (q.den !== 1n || q.num < int64Min || q.num > int64Max) return undefined;
  return q.num;
}

export function quantityAsFloat(q: Quantity): number {
  return Number(q.num) / Number(q.den);
}
