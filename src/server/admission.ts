// Admission control: bounded in-flight requests and units (rows or queries) per surface. A caller waits at most
// the acquire timeout for capacity, then is refused (the route answers 503 with the surface's error code).
export class AdmissionRejected extends Error {
  constructor(
    /** "overloaded": retry later; "limit_exceeded": this request alone is larger than the budget. */
    readonly reason: "overloaded" | "limit_exceeded",
    message: string,
  ) {
    super(message);
    this.name = "AdmissionRejected";
  }
}

interface Waiter {
  units: number;
  grant: () => void;
}

class Budget {
  private used = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly name: string,
    readonly capacity: number,
    private readonly timeoutMs: number,
  ) {}

  get inUse(): number {
    return this.used;
  }

  acquire(units: number): Promise<void> | void {
    if (units > this.capacity) {
      throw new AdmissionRejected("limit_exceeded", `request needs ${units} ${this.name}, more than the limit of ${this.capacity}`);
    }
    if (this.waiters.length === 0 && this.used + units <= this.capacity) {
      this.used += units;
      return;
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        units,
        grant: () => {
          clearTimeout(timer);
          this.used += units;
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new AdmissionRejected("overloaded", `too many in-flight ${this.name} (limit ${this.capacity}); retry later`));
      }, this.timeoutMs);
      this.waiters.push(waiter);
    });
  }

  release(units: number): void {
    this.used -= units;
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.units <= this.capacity) this.waiters.shift()!.grant();
  }
}

/** One surface (writes or reads): a request budget and a unit budget. */
export class AdmissionGate {
  private readonly requests: Budget;
  private readonly units: Budget;

  constructor(unitName: string, maxRequests: number, maxUnits: number, timeoutMs: number) {
    this.requests = new Budget("requests", maxRequests, timeoutMs);
    this.units = new Budget(unitName, maxUnits, timeoutMs);
  }

  get inflightRequests(): number {
    return this.requests.inUse;
  }

  /**
   * Takes one request slot: undefined when one was free (the caller need not await: an await of undefined still
   * costs a microtask turn), else a promise that settles once one is (rejected after the acquire timeout).
   * The caller gives it back with leave().
   */
  enter(): Promise<void> | undefined {
    return this.requests.acquire(1) ?? undefined;
  }

  leave(): void {
    this.requests.release(1);
  }

  /** Holds one request slot while `fn` runs. */
  async withRequest<T>(fn: () => Promise<T>): Promise<T> {
    const waiting = this.enter();
    if (waiting) await waiting;
    try {
      return await fn();
    } finally {
      this.leave();
    }
  }

  /** Holds `n` units while `fn` runs. */
  async withUnits<T>(n: number, fn: () => Promise<T>): Promise<T> {
    if (n === 0) return fn();
    const waiting = this.units.acquire(n);
    if (waiting) await waiting;
    try {
      return await fn();
    } finally {
      this.units.release(n);
    }
  }
}
