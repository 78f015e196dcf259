import { equal } from "node:assert/strict";
import {
  AdmissionTable,
  TOO_MANY_FROM_IP,
  TOO_MANY_USERS,
} from "../../src/workers/admission_table.ts";

Deno.test("AdmissionTable: limits over workers, per address and in all", () => {
  const buffer = AdmissionTable.allocate(2, 10);
  new AdmissionTable(buffer, 2, -1).setLimits(5, 2);
  const a = new AdmissionTable(buffer, 2, 0);
  const b = new AdmissionTable(buffer, 2, 1);
  equal(a.admit("10.0.0.1"), null);
  equal(b.admit("10.0.0.1"), null);
  equal(a.admit("10.0.0.1"), TOO_MANY_FROM_IP, "the second worker's session counts too");
  equal(b.admit("10.0.0.2"), null);
  equal(a.admit("10.0.0.3"), null);
  equal(b.admit("10.0.0.4"), null);
  equal(a.admit("10.0.0.5"), TOO_MANY_USERS);
  b.release("10.0.0.1");
  equal(a.admit("10.0.0.1"), null, "a released place is free for any worker");
  equal(a.total(), 5);
});

Deno.test("AdmissionTable: matches a plain model under random admits, releases and a dead worker", () => {
  const workers = 3;
  const buffer = AdmissionTable.allocate(workers, 100);
  const main = new AdmissionTable(buffer, workers, -1);
  main.setLimits(400, 3);
  const tables = [0, 1, 2].map((w) => new AdmissionTable(buffer, workers, w));
  const model = [0, 1, 2].map(() => new Map<string, number>());
  const countOf = (ip: string) => model.reduce((sum, m) => sum + (m.get(ip) ?? 0), 0);
  const total = () => model.reduce((sum, m) => sum + [...m.values()].reduce((a, b) => a + b, 0), 0);
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let step = 0; step < 20_000; step++) {
    const w = random(workers);
    const ip = `192.0.2.${random(700)}`; // many addresses: long probe runs in 1,024 slots
    if (step === 10_000) {
      main.releaseWorker(1);
      model[1].clear();
    }
    if (random(2) === 0) {
      const expected = total() >= 400 ? TOO_MANY_USERS : countOf(ip) >= 3 ? TOO_MANY_FROM_IP : null;
      equal(tables[w].admit(ip), expected, `step ${step}: admit ${ip} in ${w}`);
      if (expected === null) model[w].set(ip, (model[w].get(ip) ?? 0) + 1);
    } else {
      tables[w].release(ip);
      const held = model[w].get(ip) ?? 0;
      if (held === 1) model[w].delete(ip);
      else if (held > 1) model[w].set(ip, held - 1);
    }
    equal(main.total(), total(), `step ${step}: total`);
  }
});

Deno.test("AdmissionTable: failed logins from any worker ban the address for every worker", () => {
  const buffer = AdmissionTable.allocate(2, 10);
  new AdmissionTable(buffer, 2, -1).setLimits(10, 10, { after: 3, durationMs: 60_000 });
  const a = new AdmissionTable(buffer, 2, 0);
  const b = new AdmissionTable(buffer, 2, 1);
  const now = Date.now();
  equal(a.recordFailure("10.0.0.9", now).banned, false);
  equal(b.recordFailure("10.0.0.9", now).banned, false);
  equal(b.isBanned("10.0.0.9", now), false);
  const third = a.recordFailure("10.0.0.9", now);
  equal(third.count, 3);
  equal(third.banned, true, "the third failure bans");
  equal(b.isBanned("10.0.0.9", now + 1), true, "at once, in the other worker");
  equal(b.recordFailure("10.0.0.9", now).banned, false, "banned once, not again");
  equal(a.bannedCount(now), 1);
  equal(a.isBanned("10.0.0.9", now + 61_000), false, "the ban ends");
  equal(a.isBanned("10.0.0.8", now), false);
  // Many addresses: old failures are forgotten, never the table full.
  for (let i = 0; i < 10_000; i++) a.recordFailure(`198.51.100.${i}`, now + 120_000 + i * 10);
  equal(a.recordFailure("203.0.113.1", now + 300_000).count, 1);
});
