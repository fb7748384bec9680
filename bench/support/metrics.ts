// Reading the controller's Prometheus text (/metrics) in benchmarks.

/** The sum of a metric's samples whose label set matches `labels` (all of them by default). */
export function counter(text: string, name: string, labels: RegExp = /.*/): number {
  return text
    .split("\n")
    .filter((line) => (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && labels.test(line))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}
