// Reaching the broker, on every server line: every credential kind through
// stack config and through the environment, clear and quick failures for an
// unreachable broker or wrong credentials, and the broker's storage errors
// mapped to the resource and what to do.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { closeConnections } from "../../providers/connection.ts";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { provider as objectStore } from "../../providers/objectStore.ts";
import { provider as stream } from "../../providers/stream.ts";
import { bothServerVersions, freePorts, type NatsServer, startServer } from "../harness/nats.ts";
import { checked, configure, created, isolateFromNatsEnv, NO_NATS_ENV, type Props, rejects, streamInfo, withEnv } from "./support.ts";

isolateFromNatsEnv();

const MiB = 1024 ** 2;
const PASSWORD = "correct-horse-battery";
const TOKEN = "t0ken-for-tests";

let serial = 0;

/** A stream created, read and deleted through the providers with the current settings. */
async function roundTrip(): Promise<void> {
    const name = `CONN_${++serial}`;
    const { id, outs } = await created(stream, { name, subjects: [`conn.${serial}.>`] });
    const r = await stream.read!(id, outs);
    assert.equal(r.id, name);
    await stream.delete!(id, outs);
    assert.deepEqual(await stream.read!(id, outs), {});
}

/** Awaits a rejection within `ms`. */
async function rejectsWithin(ms: number, promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
    const start = Date.now();
    const message = await rejects(promise, ...patterns);
    const took = Date.now() - start;
    assert.ok(took < ms, `took ${took}ms, more than ${ms}ms`);
    return message;
}

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}`, () => {
        let userPass: NatsServer;
        let token: NatsServer;
        let nkey: NatsServer;
        let creds: NatsServer;
        let tls: NatsServer;
        let mtls: NatsServer;
        let small: NatsServer;

        before(async () => {
            [userPass, token, nkey, creds, tls, mtls, small] = await Promise.all([
                startServer({ bin: version.bin, auth: { user: "kanade", password: PASSWORD } }),
                startServer({ bin: version.bin, auth: { token: TOKEN } }),
                startServer({ bin: version.bin, auth: { nkey: true } }),
                startServer({ bin: version.bin, auth: { creds: true } }),
                startServer({ bin: version.bin, tls: true }),
                startServer({ bin: version.bin, tlsVerify: true }),
                startServer({ bin: version.bin, maxFileStore: 10 * MiB, maxMemoryStore: 10 * MiB }),
            ]);
        });
        after(async () => {
            await closeConnections();
            await Promise.all([userPass, token, nkey, creds, tls, mtls, small].map((s) => s?.stop()));
        });

        describe("credentials that work", () => {
            test("user and password via stack config", async () => {
                await configure({ servers: userPass.url, natsUser: "kanade", natsPassword: PASSWORD });
                await roundTrip();
            });

            test("user and password via the environment", async () => {
                await configure({});
                await withEnv({ ...NO_NATS_ENV, ...userPass.env }, roundTrip);
            });

            test("stack config wins over the environment", async () => {
                await configure({ servers: userPass.url, natsUser: "kanade", natsPassword: PASSWORD });
                const [nothing] = await freePorts(1);
                await withEnv({ ...NO_NATS_ENV, NATS_URL: `nats://127.0.0.1:${nothing}`, NATS_USER: "someone", NATS_PASSWORD: "wrong" }, roundTrip);
            });

            test("token via stack config and via the environment", async () => {
                await configure({ servers: token.url, natsToken: TOKEN });
                await roundTrip();
                await configure({});
                await withEnv({ ...NO_NATS_ENV, ...token.env }, roundTrip);
            });

            test("nkey seed via stack config, nkey file via the environment", async () => {
                await configure({ servers: nkey.url, natsNkeySeed: nkey.nkeySeed });
                await roundTrip();
                await configure({});
                await withEnv({ ...NO_NATS_ENV, ...nkey.env }, roundTrip);
            });

            test("creds contents via stack config, creds file via the environment", async () => {
                await configure({ servers: creds.url, natsCreds: readFileSync(creds.credsFile!, "utf8") });
                await roundTrip();
                await configure({});
                await withEnv({ ...NO_NATS_ENV, ...creds.env }, roundTrip);
            });

            test("TLS with the server's CA via stack config and via the environment", async () => {
                await configure({ servers: tls.url, natsTlsCa: tls.tls!.caFile });
                await roundTrip();
                await configure({});
                await withEnv({ ...NO_NATS_ENV, ...tls.env }, roundTrip);
            });

            test("TLS with a client certificate via stack config and via the environment", async () => {
                const t = mtls.tls!;
                await configure({ servers: mtls.url, natsTlsCa: t.caFile, natsTlsCert: t.clientCertFile, natsTlsKey: t.clientKeyFile });
                await roundTrip();
                await configure({});
                await withEnv({ ...NO_NATS_ENV, ...mtls.env }, roundTrip);
            });
        });

        describe("failures that say what is wrong, quickly", () => {
            test("nothing listening: create, diff, read and delete fail within seconds with 'cannot reach NATS at <url>'", async () => {
                const [port] = await freePorts(1);
                const url = `nats://127.0.0.1:${port}`;
                await configure({ servers: url });
                const inputs = await checked(stream, { name: "UNREACHABLE", subjects: ["unreachable.>"] });
                const outs = { ...inputs, stream: "UNREACHABLE", config: { name: "UNREACHABLE" } } as unknown as Props;
                const reach = new RegExp(`cannot reach NATS at ${url.replace(/\./g, "\\.")}`);
                await rejectsWithin(5000, stream.create(inputs), /^stream "UNREACHABLE": create failed: /, reach);
                await rejectsWithin(5000, stream.diff!("UNREACHABLE", outs, inputs), /^stream "UNREACHABLE": planning failed: /, reach);
                await rejectsWithin(5000, stream.read!("UNREACHABLE", outs), /read failed/, reach);
                await rejectsWithin(5000, stream.delete!("UNREACHABLE", outs), /delete failed/, reach);
            });

            test("no servers anywhere: says where to set them", async () => {
                await configure({});
                await withEnv(NO_NATS_ENV, async () => {
                    const inputs = await checked(keyValue, { bucket: "nowhere" });
                    await rejects(keyValue.create(inputs), /KV bucket "nowhere" \(stream KV_nowhere\): create failed/,
                        /no NATS servers configured: set kanade-jetstream:servers in the stack config or NATS_URL in the environment/);
                });
            });

            test("a password without a user is a settings error", async () => {
                await configure({ servers: userPass.url, natsPassword: PASSWORD });
                await rejects(created(stream, { name: "NOUSER", subjects: ["nouser.>"] }), /a NATS password needs a user/);
            });

            test("wrong password: the broker's refusal, named as a credentials problem, without the secret", async () => {
                await configure({ servers: userPass.url, natsUser: "kanade", natsPassword: "wrong-password" });
                const message = await rejectsWithin(5000, created(stream, { name: "WRONGPW", subjects: ["wrongpw.>"] }),
                    /^stream "WRONGPW": create failed: /, new RegExp(`NATS at ${userPass.url.replace(/\./g, "\\.")} refused the credentials`),
                    /authorization violation/i, /NATS_USER\/NATS_PASSWORD/);
                assert.doesNotMatch(message, /wrong-password/);
                assert.equal(await streamInfo(await userPass.connect(), "WRONGPW"), undefined);
            });

            test("wrong password via the environment, and no credentials at all", async () => {
                await configure({});
                await withEnv({ ...NO_NATS_ENV, ...userPass.env, NATS_PASSWORD: "nope" }, () =>
                    rejectsWithin(5000, created(stream, { name: "WRONGENV", subjects: ["wrongenv.>"] }), /refused the credentials/));
                await configure({ servers: userPass.url });
                await rejectsWithin(5000, created(stream, { name: "NOCREDS", subjects: ["nocreds.>"] }), /refused the credentials/);
            });

            test("wrong token", async () => {
                await configure({ servers: token.url, natsToken: "not-the-token" });
                const message = await rejectsWithin(5000, created(stream, { name: "WRONGTOKEN", subjects: ["wrongtoken.>"] }), /refused the credentials/);
                assert.doesNotMatch(message, /not-the-token/);
            });

            test("a failed connection is not cached: the right settings work right after", async () => {
                await configure({ servers: userPass.url, natsUser: "kanade", natsPassword: "wrong" });
                await rejects(created(stream, { name: "RETRY", subjects: ["retry.>"] }), /refused the credentials/);
                await configure({ servers: userPass.url, natsUser: "kanade", natsPassword: PASSWORD });
                await roundTrip();
            });

            test("TLS server without its CA: fails within seconds naming the broker", async () => {
                await configure({ servers: tls.url });
                await rejectsWithin(5000, created(stream, { name: "NOCA", subjects: ["noca.>"] }), /stream "NOCA": create failed/,
                    new RegExp(tls.url.replace(/\./g, "\\.")));
            });
        });

        describe("storage the broker cannot reserve", () => {
            before(() => configure({ servers: small.url }));

            test("file store: 10047 with the resource name and what to change", async () => {
                await rejects(created(stream, { name: "BIG", subjects: ["big.>"], maxBytes: "100MiB" }),
                    /^stream "BIG": create failed: the broker answered \[10047\] insufficient storage resources available/, /max_file_store/, /lower maxBytes/);
                assert.equal(await streamInfo(await small.connect(), "BIG"), undefined);
            });

            test("object store and KV bucket name their bucket and stream", async () => {
                await rejects(created(objectStore, { bucket: "result_output", maxBytes: "1GiB", ttl: "30d" }),
                    /^object store "result_output" \(stream OBJ_result_output\): create failed/, /10047/);
                await rejects(created(keyValue, { bucket: "huge", maxBytes: "20MiB" }), /^KV bucket "huge" \(stream KV_huge\): create failed/, /10047/);
            });

            test("memory store: 10028", async () => {
                await rejects(created(stream, { name: "BIGMEM", subjects: ["bigmem.>"], storage: "memory", maxBytes: "100MiB" }),
                    /stream "BIGMEM": create failed/, /10028/, /max_memory_store/);
            });

            test("growing a stream past what is left fails the update with 10047; the old cap stays", async () => {
                const { id, outs } = await created(stream, { name: "GROW", subjects: ["grow.>"], maxBytes: "4MiB" });
                const news = await checked(stream, { name: "GROW", subjects: ["grow.>"], maxBytes: "50MiB" });
                await rejects(stream.update!(id, outs, news), /^stream "GROW": update failed/, /10047/);
                assert.equal((await streamInfo(await small.connect(), "GROW"))!.config.max_bytes, 4 * MiB);
            });

            test("adopting an uncapped stream with a cap the store cannot hold fails with 10047 and leaves it uncapped", async () => {
                const nc = await small.connect();
                await nc.request("$JS.API.STREAM.CREATE.ADOPTBIG", JSON.stringify({ name: "ADOPTBIG", subjects: ["adoptbig.>"] }));
                await rejects(created(stream, { name: "ADOPTBIG", subjects: ["adoptbig.>"], maxBytes: "1GiB" }), /stream "ADOPTBIG": create failed/, /10047/);
                assert.equal((await streamInfo(nc, "ADOPTBIG"))!.config.max_bytes, -1);
            });
        });
    });
}
