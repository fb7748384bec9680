// Boolean query parameters as the API server decodes them (runtime.Convert_Slice_string_To_bool):
// absent, "0" and "false" in any case are false; anything else, "True" and an empty value
// included, is true. Clients spell them differently (the Python client sends "True").

/** A boolean parameter that defaults to false when absent (watch, allowWatchBookmarks, force). */
export function queryBool(value: string | undefined): boolean {
  return queryOptionalBool(value) ?? false;
}

/** A boolean parameter whose absence means "not set" (sendInitialEvents, a *bool in Go). */
export function queryOptionalBool(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return !(value === "0" || value.toLowerCase() === "false");
}
