// apimachinery's field.Path and field.Error: the path rendering ("spec.list[0].name",
// "properties[spec]", "<nil>" for the root) and ErrorBody(), which is what a Status cause's
// message carries (staging/src/k8s.io/apimachinery/pkg/util/validation/field/{path,errors}.go).
import { GoLiteral, goQuote, goScalar, goSyntax } from "./go-format.js";
import type { SchemaCause } from "./types.js";

/** An immutable field path; `FieldPath.root` renders as "<nil>" like a nil *field.Path. */
export class FieldPath {
  static readonly root = new FieldPath("");

  private constructor(private readonly text: string) {}

  static of(text: string): FieldPath {
    return text === "" ? FieldPath.root : new FieldPath(text);
  }

  child(...names: string[]): FieldPath {
    let text = this.text;
    for (const name of names) text = text === "" ? name : `${text}.${name}`;
    return new FieldPath(text);
  }

  key(key: string): FieldPath {
    return new FieldPath(`${this.text}[${key}]`);
  }

  index(index: number): FieldPath {
    return new FieldPath(`${this.text}[${index}]`);
  }

  isRoot(): boolean {
    return this.text === "";
  }

  toString(): string {
    return this.text === "" ? "<nil>" : this.text;
  }
}

/** Marks a bad value the API server leaves out of the message (field.omitValue). */
const omitValue = Symbol("omitValue");

const typeStrings: Record<string, string> = {
  FieldValueNotFound: "Not found",
  FieldValueRequired: "Required value",
  FieldValueDuplicate: "Duplicate value",
  FieldValueInvalid: "Invalid value",
  FieldValueNotSupported: "Unsupported value",
  FieldValueForbidden: "Forbidden",
  FieldValueTooLong: "Too long",
  FieldValueTooMany: "Too many",
  InternalError: "Internal error",
  FieldValueTypeInvalid: "Invalid value",
};

const valueless = new Set([
  "FieldValueRequired",
  "FieldValueForbidden",
  "FieldValueTooLong",
  "InternalError",
]);

/** field.Error.ErrorBody() */
function errorBody(reason: string, badValue: unknown, detail: string): string {
  let body = typeStrings[reason] ?? reason;
  if (!valueless.has(reason) && badValue !== omitValue) {
    if (badValue === null || badValue === undefined) body += `: ${goQuote("null")}`;
    else if (typeof badValue === "string") body += `: ${goQuote(badValue)}`;
    else if (typeof badValue === "number" || typeof badValue === "boolean") body += `: ${goScalar(badValue)}`;
    else if (badValue instanceof GoLiteral) body += `: ${badValue.text}`;
    else body += `: ${goSyntax(badValue)}`;
  }
  return detail ? `${body}: ${detail}` : body;
}

function cause(reason: string, path: FieldPath, badValue: unknown, detail: string): SchemaCause {
  return { reason, message: errorBody(reason, badValue, detail), field: path.toString() };
}

export const fieldError = {
  required: (path: FieldPath, detail: string) => cause("FieldValueRequired", path, "", detail),
  invalid: (path: FieldPath, value: unknown, detail: string) =>
    cause("FieldValueInvalid", path, value, detail),
  typeInvalid: (path: FieldPath, value: unknown, detail: string) =>
    cause("FieldValueTypeInvalid", path, value, detail),
  forbidden: (path: FieldPath, detail: string) => cause("FieldValueForbidden", path, "", detail),
  duplicate: (path: FieldPath, value: unknown) => cause("FieldValueDuplicate", path, value, ""),
  notSupported: (path: FieldPath, value: unknown, validValues: string[]) =>
    cause(
      "FieldValueNotSupported",
      path,
      value,
      validValues.length > 0 ? `supported values: ${validValues.map(goQuote).join(", ")}` : "",
    ),
  tooLong: (path: FieldPath, value: unknown, maxLength: number) =>
    cause(
      "FieldValueTooLong",
      path,
      value,
      maxLength >= 0 ? `may not be longer than ${maxLength}` : "value is too long",
    ),
  tooMany: (path: FieldPath, actual: number, max: number) =>
    cause(
      "FieldValueTooMany",
      path,
      actual >= 0 ? actual : omitValue,
      max >= 0 ? `must have at most ${max} items` : "has too many items",
    ),
  internal: (path: FieldPath, detail: string) => cause("InternalError", path, null, detail),
};

/** The reasons that stop CEL rules from running (strategy.go's hasBlockingErr). */
export const blockingReasons = new Set([
  "FieldValueNotSupported",
  "FieldValueRequired",
  "FieldValueTooLong",
  "FieldValueTooMany",
  "FieldValueTypeInvalid",
]);

/** field.ErrorList.ToAggregate() text: "<field>: <message>", duplicates dropped, joined as the API server does. */
export function causeText(item: SchemaCause): string {
  return `${item.field}: ${item.message}`;
}
