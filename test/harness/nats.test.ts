// Self-test of the harness against real nats-servers (every line in
// bothServerVersions()). Run: node --test test/harness/
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  credsAuthenticator,
  JSONCodec,
  type NatsConnection,
  nkeyAuthenticator,
  nkeys,
  StorageType,
} from "nats";
import { createOperatorSetup } from "./jwt.ts";
import {
  type AuthOptions,
  bothServerVersions,
  ephemeralPortRange,
  freePorts,
  jsApi,
  JsApiError,
  jsConfig,
  type NatsServer,
  startCluster,
  startLeafPair,
  startServer,
  startTwoAccounts,
  stopAll,
  testPortRange,
} from "./nats.ts";

after(stopAll); // belt and braces: each test also stops its own servers

const jc = JSONCodec();

/** Creates a stream through nats.js' JSM layer (independent of jsApi/jsConfig). */
async function addStream(nc: NatsConnection, name: string, extra: Record<string, unknown> = {}) {
  const jsm = await nc.jetstreamManager();
  return jsm.streams.add({ name, subjects: [`${name}.>`], storage: StorageType.File, ...extra });
}

/** Connection attempt that must be refused; returns the error text. */
async function refused(s: NatsServer, extra: Parameters<NatsServer["connect"]>[0]): Promise<string> {
  const err = await s.connect({ reconnect: false, timeout: 3000, ...extra }).then(
    async (nc) => {
      await nc.close();
      return undefined;
    },
    (e: unknown) => String((e as Error)?.message ?? e),
  );
  assert.ok(err !== undefined, "connection should have been refused");
  return err;
}

// Generous: a bound for hangs on a loaded two-core machine, not a timing.
async function waitFor<T>(what: string, fn: () => Promise<T>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${what}: still failing after ${timeoutMs}ms: ${String(last)}`);
}

test("freePorts returns distinct usable ports outside the ephemeral range, so no connection's source port takes one", async () => {
  const [low, high] = ephemeralPortRange();
  const range = testPortRange();
  assert.ok(range, `this machine's ephemeral range ${low}-${high} leaves room for test ports`);
  assert.ok(range[1] < low || range[0] > high, `${range.join("-")} is outside ${low}-${high}`);
  const ports = await freePorts(30);
  assert.equal(new Set(ports).size, 30);
  for (const p of ports) {
    assert.ok(p >= range[0] && p <= range[1], `port ${p} in ${range.join("-")}`);
    assert.ok(p > 1024 && p !== 4222, `port ${p}`);
  }
  // Usable: each can be listened on right away.
  for (const p of ports) {
    const srv = createServer();
    await new Promise<void>((resolve, reject) => srv.once("error", reject).listen(p, "127.0.0.1", resolve));
    await new Promise((r) => srv.close(r));
  }
});

test("a server that fails to start rejects with its log tail and leaves nothing behind", async () => {
  const err = await startServer({ config: { max_payload: "not-a-number" } }).then(
    () => assert.fail("should not start"),
    (e: Error) => e.message,
  );
  assert.match(err, /exited during startup/);
  assert.match(err, /server\.conf.*(max_payload|interface conversion)/, "log tail carries the server's complaint");
  const dir = /dir (\S+)\)/.exec(err)?.[1];
  assert.ok(dir && dir.startsWith(tmpdir()), err);
  assert.equal(existsSync(dir), false, "temp dir removed");
});

test("a missing binary is reported clearly", async () => {
  await assert.rejects(startServer({ bin: "/nonexistent/nats-server" }), /cannot run \/nonexistent\/nats-server --version/);
});

test("a server that never gets ready times out with its log tail and is killed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "kanade-fakebin-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, "nats-server");
  writeFileSync(bin, '#!/bin/sh\n[ "$1" = --version ] && { echo "nats-server: v9.9.9"; exit 0; }\necho "fake server warming up" >&2\necho $$ > "$0.pid"\nexec sleep 60\n', { mode: 0o755 });
  const t0 = Date.now();
  const err = await startServer({ bin, readyTimeoutMs: 700 }).then(
    () => assert.fail("should not start"),
    (e: Error) => e.message,
  );
  assert.ok(Date.now() - t0 < 5000);
  assert.match(err, /not ready after 700ms/);
  assert.match(err, /fake server warming up/);
  const pid = Number(readFileSync(`${bin}.pid`, "utf8"));
  assert.throws(() => process.kill(pid, 0), "the stuck process was killed");
});

// The safety net: a test process that dies without stop() must not leak servers.
for (const ending of ["process.exit(0)", "process.kill(process.pid, 'SIGKILL')"]) {
  test(`safety net: servers die and dirs vanish when the test process ends via ${ending}`, async (t) => {
    const script = `
      const h = require(${JSON.stringify(join(import.meta.dirname, "nats.ts"))});
      Promise.all([h.startServer(), h.startCluster(3)]).then(([s, c]) => {
        const pids = [s, ...c.servers].map((x) => x.pid);
        const root = require("node:path").dirname(c.servers[0].dir);
        console.log(JSON.stringify({ pids, dirs: [s.dir, root, ...c.servers.map((x) => x.dir)] }));
        ${ending};
      });`;
    const t0 = Date.now();
    const out = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 30_000 }).stdout.trim();
    const { pids, dirs } = JSON.parse(out.split("\n").pop()!) as { pids: number[]; dirs: string[] };
    assert.equal(pids.length, 4);
    // Zombies (killed, not yet reaped by whoever inherited them) count as dead.
    const alive = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    await waitFor("servers gone", async () => {
      const left = pids.filter(alive).length + dirs.filter((d) => existsSync(d)).length;
      if (left) throw new Error(`${left} processes/dirs still there`);
    }, 5000);
    t.diagnostic(`cleaned up ${Date.now() - t0}ms after start of the child`);
  });
}

test("bothServerVersions honours KANADE_SERVER_VERSIONS", () => {
  const saved = process.env.KANADE_SERVER_VERSIONS;
  try {
    delete process.env.KANADE_SERVER_VERSIONS;
    const all = bothServerVersions();
    assert.ok(all.length >= 1);
    process.env.KANADE_SERVER_VERSIONS = all[0].label;
    assert.deepEqual(bothServerVersions().map((v) => v.label), [all[0].label]);
    process.env.KANADE_SERVER_VERSIONS = "0.1";
    assert.throws(() => bothServerVersions(), /0\.1/);
  } finally {
    if (saved === undefined) delete process.env.KANADE_SERVER_VERSIONS;
    else process.env.KANADE_SERVER_VERSIONS = saved;
  }
});

for (const v of bothServerVersions()) {
  describe(`nats-server ${v.label} (${v.version})`, () => {
    test("single server: connect, create stream, read raw config back", async (t) => {
      const s = await startServer({ bin: v.bin });
      t.after(() => s.stop());
      assert.equal(s.version, v.version);
      assert.match(s.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(s.port, 4222);
      assert.equal(s.env.NATS_URL, s.url);
      assert.ok(s.storeDir.startsWith(s.dir) && existsSync(s.configFile));

      const nc = await s.connect();
      await addStream(nc, "ORDERS", { max_msgs: 1000 });
      const cfg = await jsConfig(s, "ORDERS");
      assert.equal(cfg.name, "ORDERS");
      assert.deepEqual(cfg.subjects, ["ORDERS.>"]);
      assert.equal(cfg.storage, "file"); // raw server JSON, not nats.js enums
      assert.equal(cfg.max_msgs, 1000);
      assert.equal(cfg.num_replicas, 1);

      await assert.rejects(jsConfig(nc, "NOPE"), (e: unknown) => e instanceof JsApiError && e.errCode === 10059);
    });

    test("restart and kill keep the stream and its data (same ports, same store)", async (t) => {
      const s = await startServer({ bin: v.bin });
      t.after(() => s.stop());
      const nc = await s.connect({ maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      await addStream(nc, "KEEP");
      await nc.jetstream().publish("KEEP.a", jc.encode({ n: 1 }));
      const port = s.port;

      await s.restart();
      assert.equal(s.port, port);
      let info = await jsApi<{ state: { messages: number } }>(s, "$JS.API.STREAM.INFO.KEEP");
      assert.equal(info.state.messages, 1);

      await s.kill();
      assert.equal(s.running, false);
      await s.start();
      info = await jsApi(s, "$JS.API.STREAM.INFO.KEEP");
      assert.equal(info.state.messages, 1);
      // The old connection reconnects on its own to the same port. (A request
      // sent mid-reconnect can be lost by nats.js, hence short timeouts + retry.)
      await waitFor("reconnect", async () => {
        const jsm = await nc.jetstreamManager({ timeout: 1000 });
        return jsm.streams.info("KEEP");
      });
    });

    test("stop() kills the process and removes the temp dir", async () => {
      const s = await startServer({ bin: v.bin });
      const nc = await s.connect();
      await s.stop();
      assert.equal(s.running, false);
      assert.equal(existsSync(s.dir), false);
      assert.equal(nc.isClosed(), true, "stop() closes connections made via s.connect()");
      await s.stop(); // idempotent
      const res = await fetch(`${s.monitorUrl}/varz`).then(() => "up", () => "down");
      assert.equal(res, "down");
    });

    const authCases: { label: string; auth: AuthOptions; wrong: () => Parameters<NatsServer["connect"]>[0] }[] = [
      { label: "user/password", auth: { user: "kanade", password: "s3cret" }, wrong: () => ({ pass: "nope" }) },
      { label: "token", auth: { token: "t0ken-abc" }, wrong: () => ({ token: "wrong" }) },
      {
        label: "nkey",
        auth: { nkey: true },
        wrong: () => ({ authenticator: nkeyAuthenticator(nkeys.createUser().getSeed()) }),
      },
      {
        label: "creds (operator/account/user JWT)",
        auth: { creds: true },
        // a user of an account signed by an operator this server doesn't trust
        wrong: () => ({ authenticator: credsAuthenticator(new TextEncoder().encode(createOperatorSetup().userCreds)) }),
      },
    ];
    for (const c of authCases) {
      test(`auth ${c.label}: right credentials work with JetStream, wrong/none are refused`, async (t) => {
        const s = await startServer({ bin: v.bin, auth: c.auth });
        t.after(() => s.stop());
        const nc = await s.connect();
        await addStream(nc, "AUTHED");
        assert.equal((await jsConfig(nc, "AUTHED")).name, "AUTHED");

        assert.match(await refused(s, c.wrong()), /authoriz|authentic/i);
        // no credentials at all
        assert.match(
          await refused(s, { user: undefined, pass: undefined, token: undefined, authenticator: undefined }),
          /authoriz|authentic/i,
        );

        // env form for the providers: only the relevant keys, files exist
        const keys = Object.keys(s.env).sort();
        if ("user" in c.auth) {
          assert.deepEqual(keys, ["NATS_PASSWORD", "NATS_URL", "NATS_USER"]);
        } else if ("token" in c.auth) {
          assert.deepEqual(keys, ["NATS_TOKEN", "NATS_URL"]);
        } else if ("nkey" in c.auth) {
          assert.deepEqual(keys, ["NATS_NKEY", "NATS_URL"]);
          assert.equal(readFileSync(s.env.NATS_NKEY!, "utf8").trim(), s.nkeySeed);
          assert.match(s.nkeySeed!, /^SU/);
        } else {
          assert.deepEqual(keys, ["NATS_CREDS", "NATS_URL"]);
          assert.match(readFileSync(s.env.NATS_CREDS!, "utf8"), /BEGIN NATS USER JWT/);
        }
      });
    }

    test("TLS: works with the generated CA, fails without it", async (t) => {
      const s = await startServer({ bin: v.bin, tls: true });
      t.after(() => s.stop());
      assert.ok(s.tls && existsSync(s.tls.caFile) && existsSync(s.tls.certFile) && existsSync(s.tls.keyFile));
      assert.equal(s.env.NATS_CA, s.tls.caFile);
      assert.equal(s.env.NATS_CERT, undefined);
      const nc = await s.connect();
      assert.equal(nc.info?.tls_required, true);
      await addStream(nc, "SECURE");
      const err = await refused(s, { tls: undefined });
      assert.match(err, /certificate|self.signed|CERT/i);
    });

    test("TLS verify: client certificate required", async (t) => {
      const s = await startServer({ bin: v.bin, tlsVerify: true, auth: { user: "u", password: "p" } });
      t.after(() => s.stop());
      assert.equal(s.env.NATS_CERT, s.tls!.clientCertFile);
      assert.equal(s.env.NATS_KEY, s.tls!.clientKeyFile);
      const nc = await s.connect();
      await addStream(nc, "MTLS");
      await refused(s, { tls: { caFile: s.tls!.caFile } });
    });

    test("maxFileStore: a stream bigger than the server's file store is refused with 10047", async (t) => {
      const s = await startServer({ bin: v.bin, maxFileStore: 1024 * 1024 });
      t.after(() => s.stop());
      const nc = await s.connect();
      await addStream(nc, "FITS", { max_bytes: 512 * 1024 });
      const err = await jsApi(nc, "$JS.API.STREAM.CREATE.TOOBIG", {
        name: "TOOBIG",
        subjects: ["TOOBIG.>"],
        storage: "file",
        max_bytes: 4 * 1024 * 1024,
        num_replicas: 1,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof JsApiError, `expected a JS API error, got ${String(err)}`);
      assert.equal(err.errCode, 10047, JSON.stringify(err.response));
    });

    test("accountLimits: the account's JetStream file limit is enforced", async (t) => {
      const s = await startServer({ bin: v.bin, auth: { user: "a", password: "b" }, accountLimits: { maxFileStore: 1024 * 1024, maxMemoryStore: 1024 * 1024 } });
      t.after(() => s.stop());
      const nc = await s.connect();
      const acct = await jsApi<{ limits: { max_storage: number; max_memory: number } }>(nc, "$JS.API.INFO");
      assert.equal(acct.limits.max_storage, 1024 * 1024);
      assert.equal(acct.limits.max_memory, 1024 * 1024);
      await addStream(nc, "SMALL", { max_bytes: 512 * 1024 });
      await assert.rejects(
        jsApi(nc, "$JS.API.STREAM.CREATE.LARGE", { name: "LARGE", subjects: ["LARGE"], storage: "file", max_bytes: 4 * 1024 * 1024, num_replicas: 1 }),
        (e: unknown) => e instanceof JsApiError && e.errCode === 10047,
      );
    });

    test("accountLimits with creds: limits travel in the account JWT", async (t) => {
      const s = await startServer({ bin: v.bin, auth: { creds: true }, accountLimits: { maxFileStore: 2 * 1024 * 1024 } });
      t.after(() => s.stop());
      const acct = await jsApi<{ limits: { max_storage: number } }>(s, "$JS.API.INFO");
      assert.equal(acct.limits.max_storage, 2 * 1024 * 1024);
    });

    test("3-node cluster: R3 stream survives losing its leader", async (t) => {
      const c = await startCluster(3, { bin: v.bin });
      t.after(() => c.stop());
      assert.equal(c.servers.length, 3);
      assert.equal(new Set(c.servers.map((s) => s.storeDir)).size, 3);
      assert.equal(c.urls.split(",").length, 3);
      assert.equal(c.env.NATS_URL, c.urls);

      const nc = await c.connect();
      await addStream(nc, "HA", { num_replicas: 3 });
      // The create can answer before the new stream's leader takes messages (no responders, 503).
      await waitFor("first publish to the new R3 stream", () => nc.jetstream().publish("HA.x", jc.encode({ ok: true })));
      const info = await jsApi<{ cluster: { leader: string; replicas: { name: string }[] }; config: { num_replicas: number } }>(
        nc,
        "$JS.API.STREAM.INFO.HA",
      );
      assert.equal(info.config.num_replicas, 3);
      assert.equal(info.cluster.replicas.length, 2);
      await nc.close();

      const victim = c.servers.findIndex((s) => s.name === info.cluster.leader);
      assert.ok(victim >= 0, `stream leader ${info.cluster.leader} is one of ours`);
      await c.stopNode(victim);
      assert.equal(c.servers[victim].running, false);

      const nc2 = await c.connect();
      const after1 = await waitFor("stream info after node loss", () =>
        jsApi<{ cluster: { leader?: string }; state: { messages: number } }>(nc2, "$JS.API.STREAM.INFO.HA").then((i) => {
          if (!i.cluster.leader) throw new Error("no stream leader yet");
          return i;
        }),
      );
      assert.notEqual(after1.cluster.leader, info.cluster.leader);
      assert.equal(after1.state.messages, 1);
      await nc2.close();

      await c.startNode(victim);
      assert.equal(c.servers[victim].running, true);
    });

    test("3-node cluster with creds + TLS + account limits", async (t) => {
      const c = await startCluster(3, { bin: v.bin, auth: { creds: true }, tls: true, accountLimits: { maxFileStore: 8 << 20 } });
      t.after(() => c.stop());
      assert.deepEqual(Object.keys(c.env).sort(), ["NATS_CA", "NATS_CREDS", "NATS_URL"]);
      const nc = await c.connect();
      const r = await jsApi<{ config: { num_replicas: number }; cluster: { replicas: unknown[] } }>(
        nc,
        "$JS.API.STREAM.CREATE.SEC3",
        { name: "SEC3", subjects: ["SEC3.>"], storage: "file", num_replicas: 3, max_bytes: 1 << 20 },
      );
      assert.equal(r.config.num_replicas, 3);
      assert.equal(r.cluster.replicas.length, 2);
      // 3MiB reserved + an R3 6MiB stream > the account's 8MiB, however the server counts
      // the new stream's replicas (2.10.8-2.12.8 count them once: docs/server-rules.md §5)
      await assert.rejects(
        jsApi(nc, "$JS.API.STREAM.CREATE.BIG3", { name: "BIG3", subjects: ["BIG3.>"], storage: "file", num_replicas: 3, max_bytes: 6 << 20 }),
        (e: unknown) => e instanceof JsApiError,
      );
    });
  });
}

for (const v of bothServerVersions()) {
  describe(`nats-server ${v.label} (${v.version}): JetStream domains and accounts`, () => {
    test("leaf pair: each side's JetStream answers to its domain from the other side; $JS.API and $KV stay local", async (t) => {
      const pair = await startLeafPair({ bin: v.bin });
      t.after(() => pair.stop());
      const [hub, leaf] = await Promise.all([pair.hub.connect(), pair.leaf.connect()]);
      const info = await jsApi<{ domain?: string }>(hub, `$JS.${pair.leafDomain}.API.INFO`);
      assert.equal(info.domain, pair.leafDomain);
      assert.equal((await jsApi<{ domain?: string }>(leaf, `$JS.${pair.hubDomain}.API.INFO`)).domain, pair.hubDomain);

      await jsApi(hub, `$JS.${pair.leafDomain}.API.STREAM.CREATE.KV_edge`, { name: "KV_edge", subjects: ["$KV.edge.>"], storage: "file" });
      assert.equal((await jsConfig(leaf, "KV_edge")).name, "KV_edge");
      await assert.rejects(jsConfig(hub, "KV_edge"), (e: unknown) => e instanceof JsApiError && e.errCode === 10059);
      // A KV write through the domain, as nats.go puts through one; the leaf maps it back to $KV.
      const ack = jc.decode((await hub.request(`$JS.${pair.leafDomain}.API.$KV.edge.k`, jc.encode("v"), { timeout: 5000 })).data) as { stream?: string };
      assert.equal(ack.stream, "KV_edge");
    });

    test("two accounts: B manages A's streams and writes A's KV under the imported prefix", async (t) => {
      const x = await startTwoAccounts({ bin: v.bin });
      t.after(() => x.server.stop());
      const [a, b] = await Promise.all([x.server.connect(x.a), x.server.connect(x.b)]);
      await jsApi(b, `${x.apiPrefix}.STREAM.CREATE.KV_shared`, { name: "KV_shared", subjects: ["$KV.shared.>"], storage: "file" });
      assert.equal((await jsConfig(a, "KV_shared")).name, "KV_shared");
      await assert.rejects(jsConfig(b, "KV_shared"), (e: unknown) => e instanceof JsApiError && e.errCode === 10059);
      const ack = jc.decode((await b.request(`${x.apiPrefix}.$KV.shared.k`, jc.encode("v"), { timeout: 5000 })).data) as { stream?: string };
      assert.equal(ack.stream, "KV_shared");
    });
  });
}
