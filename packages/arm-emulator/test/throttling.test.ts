// ARM's token buckets: per subscription and caller, per operation class, the identity-creation and
// federated-credential limits, 429 with Retry-After (scaled by the time scale) and the remaining-quota headers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { type ArmFixture, startArmFixture } from "../../../test/support/arm.js";

const MSI = "api-version=2024-11-30";

async function withFixture(
  options: Parameters<typeof startArmFixture>[0],
  body: (f: ArmFixture) => Promise<void>,
) {
  const f = await startArmFixture(options);
  try {
    await body(f);
  } finally {
    await f.close();
  }
}

const identityPath = (f: ArmFixture, name: string) =>
  `/subscriptions/${f.arm.subscriptionId}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?${MSI}`;

async function group(f: ArmFixture): Promise<void> {
  const r = await f.request(
    "PUT",
    `/subscriptions/${f.arm.subscriptionId}/resourcegroups/rg?api-version=2025-04-01`,
    {
      body: { location: "eastus" },
    },
  );
  assert.equal(r.status, 201);
}

/** Sends reads until the first 429; answers how many succeeded and the 429 itself. */
async function readUntilThrottled(f: ArmFixture, token: string, limit: number) {
  let ok = 0;
  for (let i = 0; i < limit; i++) {
    const r = await f.request("GET", `/subscriptions/${f.arm.subscriptionId}?api-version=2022-12-01`, {
      token,
    });
    if (r.status === 429) return { ok, throttled: r };
    assert.equal(r.status, 200);
    ok++;
  }
  return { ok, throttled: undefined };
}

describe("ARM throttling", () => {
  it("gives each caller 250 reads per subscription, then 429 TooManyRequests with Retry-After in whole seconds", async () => {
    await withFixture({ timeScale: 1 }, async (f) => {
      const first = await f.request("GET", `/subscriptions/${f.arm.subscriptionId}?api-version=2022-12-01`);
      assert.equal(first.headers["x-ms-ratelimit-remaining-subscription-reads"], "249");
      assert.equal(first.headers["x-ms-ratelimit-remaining-subscription-global-reads"], String(250 * 15 - 1));
      const { ok, throttled } = await readUntilThrottled(f, "sandbox-opaque-token", 400);
      assert.ok(throttled, "the bucket ran dry");
      assert.ok(ok + 1 >= 250, `at least the bucket's 250 tokens were served first (${ok + 1})`);
      assert.equal(throttled.body.error.code, "TooManyRequests");
      assert.equal(throttled.headers["retry-after"], "1");
      // Another caller on the same subscription has a bucket of its own.
      const other = f.arm.issueToken({ oid: "5b0c8a64-54a1-4c8e-8a8e-1f6d2f1f0a01" });
      const theirs = await f.request("GET", `/subscriptions/${f.arm.subscriptionId}?api-version=2022-12-01`, {
        token: other,
      });
      assert.equal(theirs.status, 200);
      assert.equal(theirs.headers["x-ms-ratelimit-remaining-subscription-reads"], "249");
    });
  });

  it("scales Retry-After by the time scale (fractional seconds)", async () => {
    await withFixture({ timeScale: 10 }, async (f) => {
      const { throttled } = await readUntilThrottled(f, "sandbox-opaque-token", 2000);
      assert.ok(throttled);
      assert.equal(throttled.headers["retry-after"], "0.1");
    });
  });

  it("counts writes and deletes in buckets of 200 with their own headers", async () => {
    await withFixture({ timeScale: 1 }, async (f) => {
      await group(f);
      const write = await f.request("PUT", identityPath(f, "one"), { body: { location: "eastus" } });
      assert.equal(write.headers["x-ms-ratelimit-remaining-subscription-writes"], "198");
      const del = await f.request("DELETE", identityPath(f, "one"));
      assert.equal(del.headers["x-ms-ratelimit-remaining-subscription-deletes"], "199");
      assert.equal(del.headers["x-ms-ratelimit-remaining-subscription-reads"], undefined);
      let served = 2;
      let throttled: Awaited<ReturnType<typeof f.request>> | undefined;
      for (let i = 0; i < 300 && !throttled; i++) {
        const r = await f.request(
          "PATCH",
          `/subscriptions/${f.arm.subscriptionId}/resourcegroups/rg?api-version=2025-04-01`,
          {
            body: { tags: { i: String(i) } },
          },
        );
        if (r.status === 429) throttled = r;
        else served++;
      }
      assert.ok(throttled && served >= 200, `writes served before the first 429: ${served}`);
    });
  });

  it("limits identity creation to 80 per 20 seconds per subscription and region", async () => {
    // Azure's clock 100 times slower: no token refills while a loaded machine makes the 80 calls.
    await withFixture({ timeScale: 0.01 }, async (f) => {
      await group(f);
      for (let i = 0; i < 80; i++) {
        const r = await f.request("PUT", identityPath(f, `id-${i}`), { body: { location: "eastus" } });
        assert.equal(r.status, 201, r.text);
      }
      const over = await f.request("PUT", identityPath(f, "id-80"), { body: { location: "eastus" } });
      assert.equal(over.status, 429);
      assert.match(over.body.error.message, /identity creation/);
      const update = await f.request("PUT", identityPath(f, "id-0"), {
        body: { location: "eastus", tags: { a: "b" } },
      });
      assert.equal(update.status, 200, "updates are not creations");
      const elsewhere = await f.request("PUT", identityPath(f, "west-0"), { body: { location: "westus" } });
      assert.equal(elsewhere.status, 201, "another region has its own bucket");
      assert.ok(f.arm.stats().timeline.some((p) => p.identityCreate > 0));
    });
  });

  it("limits federated credential writes to 0.25/s per identity and 2/s per subscription", async () => {
    await withFixture({ timeScale: 1, settings: { ficWriteSeconds: 0 } }, async (f) => {
      await group(f);
      for (const name of ["id-a", "id-b", "id-c"])
        await f.request("PUT", identityPath(f, name), { body: { location: "eastus" } });
      const fic = (identity: string, name: string, subject: string) =>
        f.request("PUT", identityPath(f, identity).replace("?", `/federatedIdentityCredentials/${name}?`), {
          body: {
            properties: {
              issuer: "https://issuer.example.com",
              subject,
              audiences: ["api://AzureADTokenExchange"],
            },
          },
        });
      assert.equal((await fic("id-a", "one", "s1")).status, 201);
      const second = await fic("id-a", "two", "s2");
      assert.equal(second.status, 429, "a second write to the same identity within 4 s");
      assert.equal(second.headers["retry-after"], "4");
      assert.equal((await fic("id-b", "one", "s1")).status, 201);
      const third = await fic("id-c", "one", "s1");
      assert.equal(third.status, 429, "a third write in the same second on the subscription");
    });
  });

  it("lets the SDK honour Retry-After: a burst of credential writes on one identity all land", async () => {
    await withFixture({ timeScale: 400, settings: { ficWriteSeconds: 0 } }, async (f) => {
      await group(f);
      const msi = new ManagedServiceIdentityClient(f.credential, f.arm.subscriptionId, f.clientOptions());
      await msi.userAssignedIdentities.createOrUpdate("rg", "web", { location: "eastus" });
      for (let i = 0; i < 5; i++)
        await msi.federatedIdentityCredentials.createOrUpdate("rg", "web", `fic-${i}`, {
          issuer: "https://issuer.example.com",
          subject: `system:serviceaccount:ns:sa-${i}`,
          audiences: ["api://AzureADTokenExchange"],
        });
      const listed = [];
      for await (const c of msi.federatedIdentityCredentials.list("rg", "web")) listed.push(c);
      assert.equal(listed.length, 5);
      assert.ok(f.arm.stats().throttled > 0, "some writes were throttled and retried");
      assert.deepEqual(f.validation.failures, []);
    });
  });

  it("can be switched off per sandbox", async () => {
    await withFixture({ timeScale: 1, settings: { throttling: false } }, async (f) => {
      const { ok, throttled } = await readUntilThrottled(f, "sandbox-opaque-token", 300);
      assert.equal(throttled, undefined);
      assert.equal(ok, 300);
      const r = await f.request("GET", `/subscriptions/${f.arm.subscriptionId}?api-version=2022-12-01`);
      assert.equal(r.headers["x-ms-ratelimit-remaining-subscription-reads"], undefined);
    });
  });
});
