// Time as the API server renders it: metav1.Time is RFC 3339 in UTC with whole seconds,
// metav1.MicroTime has exactly six decimals.

export function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function rfc3339Micro(date: Date, micros = 0): string {
  const millis = String(date.getUTCMilliseconds()).padStart(3, "0");
  return `${date.toISOString().slice(0, 19)}.${millis}${String(micros).padStart(3, "0")}Z`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp; undefined when it is not one. Keeps sub-millisecond digits. */
export function parseRfc3339(value: string): { date: Date; micros: number } | undefined {
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const fraction = (match[3] ?? ".0").slice(1).padEnd(6, "0");
  const date = new Date(`${match[1]}T${match[2]}.${fraction.slice(0, 3)}${match[4]?.toUpperCase()}`);
  if (Number.isNaN(date.getTime())) return undefined;
  return { date, micros: Number(fraction.slice(3, 6)) };
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration, as the AGE column shows it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}
