// Words for people: counts with the noun in the right number.

/** `1 credential`, `2 credentials`; `many` for irregular plurals (`identities`). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
