/** The seed of a scenario's random draws: from an environment variable (to replay a run), or fresh. */
export function seedFrom(variable: string): number {
  const given = process.env[variable];
  return given === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(given);
}
