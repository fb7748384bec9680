import type { FaultRule, FaultSettings, OperationClass } from "./settings.js";

export type FaultDecision =
  | { kind: "none"; delayMs: number }
  | { kind: "drop"; delayMs: number }
  | { kind: "error"; status: number; delayMs: number }
  | { kind: "throttle"; delayMs: number };

/** mulberry32: a small seeded generator, so that a seeded fault plan repeats exactly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private settings: FaultSettings = {};
  private random: () => number = Math.random;

  constructor(private readonly timeScale: number) {}

  set(settings: FaultSettings): void {
    this.settings = settings;
    this.random = settings.seed === undefined ? Math.random : seeded(settings.seed);
  }

  get(): FaultSettings {
    return this.settings;
  }

  decide(klass: OperationClass): FaultDecision {
    const rule: FaultRule | undefined = this.settings[klass] ?? this.settings.all;
    if (!rule) return { kind: "none", delayMs: 0 };
    const delayMs = (rule.latencyMs ?? 0) / this.timeScale;
    if (rule.dropRate && this.random() < rule.dropRate) return { kind: "drop", delayMs };
    if (rule.errorRate && this.random() < rule.errorRate) {
      const statuses = rule.errorStatuses?.length ? rule.errorStatuses : [500, 503];
      const status = statuses[Math.floor(this.random() * statuses.length)] ?? 500;
      return { kind: "error", status, delayMs };
    }
    if (rule.throttleRate && this.random() < rule.throttleRate) return { kind: "throttle", delayMs };
    return { kind: "none", delayMs };
  }

  /** Whether the answer to a request that was carried out is lost on its way back. */
  loseAnswer(klass: OperationClass): boolean {
    const rate = (this.settings[klass] ?? this.settings.all)?.lostResponseRate;
    return rate !== undefined && rate > 0 && this.random() < rate;
  }
}
