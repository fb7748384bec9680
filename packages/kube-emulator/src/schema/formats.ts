// The string formats a CRD schema may use (apiserver/validation/formats.go) and their checks
// (kube-openapi strfmt). Unsupported formats are ignored, as the API server strips them.
import { isIP } from "node:net";
import { parseQuantity } from "./quantity.js";

const uuid = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const uuid3 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const uuid4 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const uuid5 = /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i;
const hostname =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$/u;
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const date = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateTime = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(:(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$/;
const goDurationPart = /^(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
const scalaDuration = /^\s*(?:\d+\s*[A-Za-zµ]+\s*)+$/;
const scalaUnits = [
  ["ns", "nano"],
  ["us", "µs", "micro"],
  ["ms", "milli"],
  ["s", "sec"],
  ["m", "min"],
  ["h", "hr", "hour"],
  ["d", "day"],
  ["w", "wk", "week"],
];

function validDate(year: string, month: string, day: string): boolean {
  const d = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  return (
    d.getUTCFullYear() === Number(year) &&
    d.getUTCMonth() === Number(month) - 1 &&
    d.getUTCDate() === Number(day)
  );
}

/** time.ParseDuration */
export function isGoDuration(text: string): boolean {
  let rest = text.replace(/^[-+]/, "");
  if (rest === "0") return true;
  if (rest === "") return false;
  while (rest !== "") {
    const part = goDurationPart.exec(rest);
    if (!part) return false;
    rest = rest.slice(part[0].length);
  }
  return true;
}

function isDuration(text: string): boolean {
  if (isGoDuration(text)) return true;
  if (!scalaDuration.test(text)) return false;
  for (const match of text.matchAll(/(\d+)\s*([A-Za-zµ]+)/g)) {
    const unit = (match[2] ?? "").toLowerCase();
    const known = scalaUnits.some((variants) =>
      variants.some(
        (variant, i) => unit === variant || (i === variants.length - 1 && unit.startsWith(variant)),
      ),
    );
    if (known) return true;
  }
  return false;
}

function isBase64(text: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text);
}

function isISBN10(text: string): boolean {
  const s = text.replace(/[\s-]/g, "");
  if (!/^\d{9}[\dX]$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (i + 1) * Number(s[i]);
  sum += s[9] === "X" ? 100 : 10 * Number(s[9]);
  return sum % 11 === 0;
}

function isISBN13(text: string): boolean {
  const s = text.replace(/[\s-]/g, "");
  if (!/^\d{13}$/.test(s)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(s[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(s[12]);
}

function isCreditCard(text: string): boolean {
  const digits = text.replace(/[^0-9]/g, "");
  if (
    !/^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$/.test(
      digits,
    )
  ) {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function isCIDR(text: string): boolean {
  const [address = "", prefix, extra] = text.split("/");
  if (prefix === undefined || extra !== undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(address);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}

const checks: Record<string, (text: string) => boolean> = {
  bsonobjectid: (s) => /^[0-9a-fA-F]{24}$/.test(s),
  uri: (s) => /^[a-zA-Z][a-zA-Z0-9+.-]*:\S*$/.test(s) || /^\/\S*$/.test(s),
  email: (s) => /^(?:[^<>@\s]+\s*<)?[^\s@<>"]+@[^\s@<>"]+>?$/.test(s.trim()),
  hostname: (s) => hostname.test(s) && s.length <= 255 && s.split(".").every((part) => part.length <= 63),
  ipv4: (s) => isIP(s) === 4,
  ipv6: (s) => isIP(s) === 6,
  cidr: isCIDR,
  mac: (s) => /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/.test(s),
  uuid: (s) => uuid.test(s),
  uuid3: (s) => uuid3.test(s),
  uuid4: (s) => uuid4.test(s),
  uuid5: (s) => uuid5.test(s),
  isbn: (s) => isISBN10(s) || isISBN13(s),
  isbn10: isISBN10,
  isbn13: isISBN13,
  creditcard: isCreditCard,
  ssn: (s) => /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(s),
  hexcolor: (s) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(s),
  rgbcolor: (s) =>
    /^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$/.test(
      s,
    ),
  byte: isBase64,
  password: () => true,
  date: (s) => {
    const m = date.exec(s);
    return m !== null && validDate(m[1] as string, m[2] as string, m[3] as string);
  },
  duration: isDuration,
  datetime: (s) => {
    const m = dateTime.exec(s);
    return m !== null && validDate(m[1] as string, m[2] as string, m[3] as string);
  },
  quantity: (s) => parseQuantity(s) !== undefined,
  k8sshortname: (s) => s.length <= 63 && dns1123Label.test(s),
  k8slongname: (s) => s.length <= 253 && dns1123Subdomain.test(s),
};

/** go-openapi's format name normalization. */
function normalize(format: string): string {
  return format.replaceAll("-", "");
}

/** The format kept for validation of a node of the given type, "" when the API server strips it. */
export function effectiveFormat(type: string, format: string): string {
  if (format === "") return "";
  if (type === "" || type === "string") return Object.hasOwn(checks, normalize(format)) ? format : "";
  if (type === "integer") return format === "int32" || format === "int64" ? format : "";
  if (type === "number") return format === "float" || format === "double" ? format : "";
  return "";
}

/** Whether the registry knows the (string) format, and the value conforms to it. */
export function checkFormat(format: string, value: string): "unknown" | "valid" | "invalid" {
  const check = checks[normalize(format)];
  if (!check) return "unknown";
  return check(value) ? "valid" : "invalid";
}
