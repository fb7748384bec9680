// Go's regexp (RE2 syntax) on top of JavaScript's RegExp: schema `pattern`s and CEL's
// matches/find/findAll use RE2 in the API server. The common RE2-only spellings are translated;
// Perl syntax RE2 refuses (lookaround, backreferences) is refused here too, with Go's wording.

export class RegexSyntaxError extends Error {
  readonly code = "REGEX_SYNTAX";
}

const posixClasses: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-/:-@[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const cache = new Map<string, RegExp>();

/** Compiles an RE2 pattern; throws RegexSyntaxError with Go's "error parsing regexp: ..." text. */
export function compileRe2(pattern: string, global = false): RegExp {
  const key = `${global ? "g" : ""}:${pattern}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const { source, flags } = translate(pattern);
  let compiled: RegExp;
  try {
    compiled = new RegExp(source, `${flags}u${global ? "g" : ""}`);
  } catch {
    try {
      compiled = new RegExp(source, `${flags}${global ? "g" : ""}`);
    } catch (error) {
      throw new RegexSyntaxError(`error parsing regexp: ${(error as Error).message}`);
    }
  }
  if (cache.size > 1000) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

function translate(pattern: string): { source: string; flags: string } {
  let rest = pattern;
  let flags = "";
  const leading = /^\(\?([imsU]+)\)/.exec(rest);
  if (leading?.[1]) {
    for (const flag of leading[1]) if (flag !== "U" && !flags.includes(flag)) flags += flag;
    rest = rest.slice(leading[0].length);
  }
  let out = "";
  let inClass = false;
  for (let i = 0; i < rest.length; i++) {
    const ch = rest[i] as string;
    if (ch === "\\") {
      const next = rest[i + 1] ?? "";
      if (next === "")
        throw new RegexSyntaxError("error parsing regexp: trailing backslash at end of expression: ``");
      if (/[1-9]/.test(next))
        throw new RegexSyntaxError(`error parsing regexp: invalid escape sequence: \`\\${next}\``);
      if (next === "Q") {
        const end = rest.indexOf("\\E", i + 2);
        const literal = rest.slice(i + 2, end === -1 ? rest.length : end);
        out += literal.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
        i = end === -1 ? rest.length : end + 1;
        continue;
      }
      if (next === "A" && !inClass) out += "^";
      else if (next === "z" && !inClass) out += "$";
      else if ((next === "p" || next === "P") && rest[i + 2] !== "{") {
        out += `\\${next}{${rest[i + 2] ?? ""}}`;
        i += 1;
      } else out += `\\${next}`;
      i += 1;
      continue;
    }
    if (inClass) {
      if (ch === "[" && rest[i + 1] === ":") {
        const end = rest.indexOf(":]", i + 2);
        const name = end === -1 ? "" : rest.slice(i + 2, end);
        const negated = name.startsWith("^");
        const cls = posixClasses[negated ? name.slice(1) : name];
        if (cls !== undefined && !negated) {
          out += cls;
          i = end + 1;
          continue;
        }
      }
      if (ch === "]") inClass = false;
      out += ch;
      continue;
    }
    if (ch === "[") {
      inClass = true;
      out += ch;
      if (rest[i + 1] === "^") {
        out += "^";
        i += 1;
      }
      if (rest[i + 1] === "]") {
        out += "\\]";
        i += 1;
      }
      continue;
    }
    if (ch === "(" && rest[i + 1] === "?") {
      const head = rest.slice(i, i + 4);
      if (
        head.startsWith("(?=") ||
        head.startsWith("(?!") ||
        head.startsWith("(?<=") ||
        head.startsWith("(?<!")
      ) {
        const shown = head.startsWith("(?<") ? head : head.slice(0, 3);
        throw new RegexSyntaxError(`error parsing regexp: invalid or unsupported Perl syntax: \`${shown}\``);
      }
      if (rest.startsWith("(?P<", i)) {
        out += "(?<";
        i += 3;
        continue;
      }
    }
    out += ch;
  }
  return { source: out, flags };
}
