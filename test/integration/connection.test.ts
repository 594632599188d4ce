// Reaching the broker, on every server line: every credential kind through
// stack config and through the environment, clear and quick failures for an
// unreachable broker or wrong credentials, and the broker's storage errors
// mapped to the resource and what to do.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { nkeys } from "nats";
import { brokerConnection, closeConnections, resolveSettings } from "../../providers/connection.ts";
import { createOperatorSetup } from "../harness/jwt.ts";
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

            test("the package's own namespace (jetstream:*) wins over the project's, whatever the project is called", async () => {
                const [port] = await freePorts(1);
                const nowhere = `nats://127.0.0.1:${port}`;
                // The project's namespace points nowhere; jetstream:servers at the broker with credentials.
                await configure({ servers: nowhere, "jetstream:servers": userPass.url, "jetstream:natsUser": "kanade", "jetstream:natsPassword": "wrong-password" });
                await withEnv(NO_NATS_ENV, async () => {
                    await rejectsWithin(5000, created(stream, { name: "OWNNS", subjects: ["ownns.>"] }),
                        new RegExp(`NATS at ${userPass.url.replace(/\./g, "\\.")} refused the credentials`),
                        /sent the user\/password from jetstream:natsUser\/jetstream:natsPassword/);
                });
            });

            test("a password without a user is a settings error", async () => {
                await configure({ servers: userPass.url, natsPassword: PASSWORD });
                await rejects(created(stream, { name: "NOUSER", subjects: ["nouser.>"] }), /a NATS password needs a user/);
            });

            test("wrong password: the broker's refusal, named as a credentials problem, without the secret", async () => {
                await configure({ servers: userPass.url, natsUser: "kanade", natsPassword: "wrong-password" });
                const message = await rejectsWithin(5000, created(stream, { name: "WRONGPW", subjects: ["wrongpw.>"] }),
                    /^stream "WRONGPW": (planning|create) failed: /, new RegExp(`NATS at ${userPass.url.replace(/\./g, "\\.")} refused the credentials`),
                    /authorization violation/i, /sent the user\/password from kanade-jetstream:natsUser\/kanade-jetstream:natsPassword/);
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

            test("a tls:// URL requires TLS: it works with the server's CA, and a server without TLS is refused, not used in clear", async () => {
                await configure({ servers: tls.url.replace("nats://", "tls://"), natsTlsCa: tls.tls!.caFile });
                await roundTrip();
                const plain = small.url.replace("nats://", "tls://");
                await configure({ servers: plain });
                await rejectsWithin(5000, created(stream, { name: "NOTLS", subjects: ["notls.>"] }),
                    new RegExp(`cannot reach NATS at ${plain.replace(/\./g, "\\.")}: .*tls`, "i"));
                assert.equal(await streamInfo(await small.connect(), "NOTLS"), undefined);
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

/**
 * A fake broker that records the CONNECT line a client sends, then refuses it:
 * what the providers send, exactly, whatever a real server would accept.
 */
async function connectLine(settings: (url: string) => ReturnType<typeof resolveSettings>): Promise<Record<string, unknown>> {
    let line = "";
    const srv = createServer((socket) => {
        socket.on("error", () => undefined);
        socket.write(`INFO {"server_id":"FAKE","version":"2.12.0","proto":1,"max_payload":1048576,"headers":true,"auth_required":true,"nonce":"bm9uY2U"}\r\n`);
        let text = "";
        socket.setEncoding("utf8").on("data", (chunk: string) => {
            text += chunk;
            const m = /^CONNECT (\{.*\})\r\n/.exec(text);
            if (m && !line) {
                line = m[1];
                socket.end("-ERR 'Authorization Violation'\r\n");
            }
        });
    });
    await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
    try {
        const url = `nats://127.0.0.1:${(srv.address() as AddressInfo).port}`;
        await rejects(brokerConnection(settings(url)), /refused the credentials/);
        assert.ok(line, "the client sent no CONNECT");
        return JSON.parse(line) as Record<string, unknown>;
    } finally {
        srv.close();
    }
}

/** The credential fields of a CONNECT line. */
const sentAuth = (connect: Record<string, unknown>) =>
    ["user", "pass", "auth_token", "jwt", "nkey", "sig"].filter((k) => connect[k] !== undefined && connect[k] !== "");

describe("credentials: one method, by precedence, and settings errors that name the key or variable", () => {
    const dir = mkdtempSync(join(tmpdir(), "kanade-creds-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
    const nkeyFile = join(dir, "user.nk");
    writeFileSync(nkeyFile, `${seed}\n`);
    const credsFile = join(dir, "user.creds");
    writeFileSync(credsFile, createOperatorSetup().userCreds);
    const config = (values: Record<string, string>) => (key: string) => values[key];

    test("a natsUser/natsPassword secret and a stray NATS_TOKEN: only user and password are sent", async () => {
        const connect = await connectLine((url) =>
            resolveSettings(config({ servers: url, natsUser: "kanade", natsPassword: PASSWORD }), { NATS_TOKEN: TOKEN }));
        assert.deepEqual(sentAuth(connect), ["user", "pass"]);
    });

    test("within the environment: creds over nkey, token and user/password", async () => {
        const env = { NATS_CREDS: credsFile, NATS_NKEY: nkeyFile, NATS_TOKEN: TOKEN, NATS_USER: "kanade", NATS_PASSWORD: PASSWORD };
        // nats.js' creds authenticator sends the user's public nkey along with the JWT.
        assert.deepEqual(sentAuth(await connectLine((url) => resolveSettings(() => undefined, { ...env, NATS_URL: url }))), ["jwt", "nkey", "sig"]);
        const { NATS_CREDS: _, ...noCreds } = env;
        assert.deepEqual(sentAuth(await connectLine((url) => resolveSettings(() => undefined, { ...noCreds, NATS_URL: url }))), ["nkey", "sig"]);
        assert.equal(resolveSettings(() => undefined, { NATS_URL: "nats://h:1", NATS_TOKEN: TOKEN, NATS_USER: "u", NATS_PASSWORD: "p" }).credentials?.from, "NATS_TOKEN");
    });

    test("any credential in the stack config sets the source: the environment's are not mixed in", () => {
        const s = resolveSettings(config({ servers: "nats://h:1", natsToken: TOKEN }), { NATS_CREDS: credsFile, NATS_USER: "u", NATS_PASSWORD: "p" });
        assert.deepEqual({ kind: s.credentials?.kind, from: s.credentials?.from }, { kind: "token", from: "kanade-jetstream:natsToken" });
        assert.equal(resolveSettings(config({ servers: "nats://h:1" }), {}).credentials, undefined);
    });

    test("servers: every entry is checked and normalised; tls:// requires TLS", () => {
        const s = resolveSettings(config({ servers: " nats://a.example:4222, tls://b.example:4443 ,c.example" }), {});
        assert.deepEqual(s.servers, ["nats://a.example:4222", "tls://b.example:4443", "nats://c.example:4222"]);
        assert.equal(s.requireTls, true);
        assert.deepEqual(resolveSettings(() => undefined, { NATS_URL: '["nats://[::1]:4222"]' }).servers, ["nats://[::1]:4222"]);
    });

    test("servers: a bad entry names the key or variable and the entry", () => {
        const bad = (servers: string, from: "config" | "env", ...patterns: RegExp[]) => {
            const run = () => from === "config" ? resolveSettings(config({ servers }), {}) : resolveSettings(() => undefined, { NATS_URL: servers });
            assert.throws(run, (err: Error) => patterns.every((p) => p.test(err.message)) || assert.fail(err.message));
        };
        bad("nats://a:4222,http://b:80", "config", /^kanade-jetstream:servers entry 2 \("http:\/\/b:80"\) has the scheme http:\/\//);
        bad("nats://a:4222,,nats://b:4222", "config", /kanade-jetstream:servers entry 2 is empty/);
        bad("nats://:4222", "env", /^NATS_URL entry 1 \("nats:\/\/:4222"\) is not a valid URL/);
        bad("nats://a:99999", "env", /NATS_URL entry 1 .* is not a valid URL/);
        bad("nats://a:0", "env", /NATS_URL entry 1 .* needs a host and a port from 1 to 65535/);
        bad("nats://a:4222/path", "config", /has a path or query/);
        bad("wss://a:443", "config", /is a WebSocket URL; .* use the server's client port with nats:\/\/ or tls:\/\//);
    });

    test("servers: credentials in a URL are refused without repeating them", () => {
        for (const servers of ["nats://kanade:s3cret-in-url@a:4222", "nats://b:4222,s3cret-in-url@a:4222"]) {
            assert.throws(() => resolveSettings(config({ servers }), {}), (err: Error) => {
                assert.match(err.message, /kanade-jetstream:servers entry \d carries credentials in the URL \(not repeated here\)/);
                assert.doesNotMatch(err.message, /s3cret-in-url/);
                return true;
            });
        }
    });

    test("NATS_CREDS missing or not a creds file, NATS_NKEY and natsNkeySeed not a seed: named, never echoed", async () => {
        const missing = join(dir, "missing.creds");
        assert.throws(() => resolveSettings(() => undefined, { NATS_URL: "nats://h:1", NATS_CREDS: missing }),
            new RegExp(`^Error: NATS_CREDS names ${missing.replace(/[.]/g, "\\.")}, which cannot be read \\(ENOENT\\)`));
        assert.throws(() => resolveSettings(() => undefined, { NATS_URL: "nats://h:1", NATS_CREDS: nkeyFile }),
            new RegExp(`NATS_CREDS \\(${nkeyFile.replace(/[.]/g, "\\.")}\\) is not a NATS \\.creds file`));
        const garbage = join(dir, "garbage.nk");
        writeFileSync(garbage, "SUNOTAVALIDSEEDATALL-secretish\n");
        assert.throws(() => resolveSettings(() => undefined, { NATS_URL: "nats://h:1", NATS_NKEY: garbage }), (err: Error) => {
            assert.match(err.message, new RegExp(`NATS_NKEY \\(${garbage.replace(/[.]/g, "\\.")}\\) does not hold a valid nkey user seed`));
            assert.doesNotMatch(err.message, /secretish/);
            return true;
        });
        // Through a provider: the resource, what failed, the key.
        await configure({ servers: "nats://127.0.0.1:1", natsNkeySeed: "SUbroken-secretish" });
        const message = await rejects(created(stream, { name: "BADSEED", subjects: ["badseed.>"] }),
            /^stream "BADSEED": (planning|create) failed: kanade-jetstream:natsNkeySeed does not hold a valid nkey user seed/);
        assert.doesNotMatch(message, /secretish/);
    });
});

describe("JetStream domain and API prefix: settings, validated, errors naming the keys or variables", () => {
    const config = (values: Record<string, string>) => (key: string) => values[key];
    const servers = "nats://h:1";

    test("jsDomain and jsApiPrefix from the stack config, NATS_JS_DOMAIN and NATS_JS_API_PREFIX from the environment", () => {
        assert.deepEqual(resolveSettings(config({ servers, jsDomain: "leaf" }), {}).jetstream,
            { prefix: "$JS.leaf.API", domain: "leaf", from: "kanade-jetstream:jsDomain" });
        // A trailing dot is accepted, as nats.go and nats.js accept it.
        assert.deepEqual(resolveSettings(config({ servers, jsApiPrefix: "JS.A.API." }), {}).jetstream,
            { prefix: "JS.A.API", from: "kanade-jetstream:jsApiPrefix" });
        assert.deepEqual(resolveSettings(() => undefined, { NATS_URL: servers, NATS_JS_DOMAIN: "hub" }).jetstream,
            { prefix: "$JS.hub.API", domain: "hub", from: "NATS_JS_DOMAIN" });
        assert.deepEqual(resolveSettings(() => undefined, { NATS_URL: servers, NATS_JS_API_PREFIX: "JS.A.API" }).jetstream,
            { prefix: "JS.A.API", from: "NATS_JS_API_PREFIX" });
        assert.equal(resolveSettings(config({ servers }), {}).jetstream, undefined);
    });

    test("either key in the stack config sets the source: the environment's are not mixed in", () => {
        const s = resolveSettings(config({ servers, jsApiPrefix: "JS.A.API" }), { NATS_JS_DOMAIN: "leaf" });
        assert.deepEqual(s.jetstream, { prefix: "JS.A.API", from: "kanade-jetstream:jsApiPrefix" });
    });

    test("both set is an error naming both", () => {
        assert.throws(() => resolveSettings(config({ servers, jsDomain: "leaf", jsApiPrefix: "JS.A.API" }), {}),
            /^Error: kanade-jetstream:jsDomain and kanade-jetstream:jsApiPrefix are both set: .* set only one/);
        assert.throws(() => resolveSettings(() => undefined, { NATS_URL: servers, NATS_JS_DOMAIN: "leaf", NATS_JS_API_PREFIX: "JS.A.API" }),
            /^Error: NATS_JS_DOMAIN and NATS_JS_API_PREFIX are both set/);
    });

    test("a domain is one token; a prefix is a subject without wildcards", () => {
        for (const domain of ["le.af", "*", "le>", "le af"]) {
            assert.throws(() => resolveSettings(config({ servers, jsDomain: domain }), {}),
                new RegExp(`^Error: kanade-jetstream:jsDomain \\(${JSON.stringify(domain).replace(/[.*>]/g, "\\$&")}\\) is not a JetStream domain: expected one subject token`));
        }
        for (const prefix of ["JS.*.API", "JS.>", "JS..API", ".JS", "JS A"]) {
            assert.throws(() => resolveSettings(() => undefined, { NATS_URL: servers, NATS_JS_API_PREFIX: prefix }),
                /^Error: NATS_JS_API_PREFIX \(".*"\) is not a JetStream API prefix: expected a subject without wildcards/);
        }
    });

    test("the settings' error reaches a provider's check as the resource's failure", async () => {
        await configure({ servers, jsDomain: "le.af" });
        await rejects(created(stream, { name: "BADDOMAIN", subjects: ["baddomain.>"] }),
            /^stream "BADDOMAIN": (planning|create) failed: kanade-jetstream:jsDomain \("le\.af"\) is not a JetStream domain/);
    });
});

// TLS material (providers/tlsMaterial.ts): imported here, next to the tests that use them.
import { createPrivateKey } from "node:crypto";
import { generateTls, pemBodyLines } from "../harness/tls.ts";

describe("TLS material: file paths or PEM text, checked before connecting, never repeated", () => {
    const dir = mkdtempSync(join(tmpdir(), "kanade-tls-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const files = generateTls(dir);
    const read = (file: string) => readFileSync(file, "utf8");
    const pem = { ca: read(files.caFile), cert: read(files.clientCertFile), key: read(files.clientKeyFile) };
    // Pulumi config drops a value's trailing newline, as "$(cat file)" does.
    const secret = (text: string) => text.trimEnd();
    const config = (values: Record<string, string>) => (key: string) => values[key];
    const servers = "nats://h:1";
    const settings = (values: Record<string, string>, env: NodeJS.ProcessEnv = {}) => resolveSettings(config({ servers, ...values }), env);

    /** resolveSettings fails with every pattern, and repeats no line of the private keys or of `extra`. */
    const refused = (run: () => unknown, patterns: RegExp[], extra: string[] = []) =>
        assert.throws(run, (err: Error) => {
            for (const p of patterns) assert.match(err.message, p);
            for (const line of [...pemBodyLines(pem.key), ...pemBodyLines(read(files.caKeyFile)), ...extra]) {
                assert.ok(!err.message.includes(line), `the error repeats key material: ${err.message}`);
            }
            return true;
        });

    test("PEM text in the stack config gives what the files hold; paths still work; the environment takes either; each item's source is kept", () => {
        const expected = { ca: pem.ca, cert: pem.cert, key: pem.key };
        const ns = "kanade-jetstream";
        assert.deepEqual(settings({ natsTlsCa: secret(pem.ca), natsTlsCert: secret(pem.cert), natsTlsKey: secret(pem.key) }).tls,
            { ...expected, from: { ca: `${ns}:natsTlsCa`, cert: `${ns}:natsTlsCert`, key: `${ns}:natsTlsKey` } });
        assert.deepEqual(settings({ natsTlsCa: files.caFile, natsTlsCert: files.clientCertFile, natsTlsKey: files.clientKeyFile }).tls, {
            ...expected,
            from: { ca: `${ns}:natsTlsCa (${files.caFile})`, cert: `${ns}:natsTlsCert (${files.clientCertFile})`, key: `${ns}:natsTlsKey (${files.clientKeyFile})` },
        });
        assert.deepEqual(settings({}, { NATS_CA: pem.ca, NATS_CERT: files.clientCertFile, NATS_KEY: pem.key }).tls,
            { ...expected, from: { ca: "NATS_CA", cert: `NATS_CERT (${files.clientCertFile})`, key: "NATS_KEY" } });
        // Only a CA: a server that does not verify clients.
        assert.deepEqual(settings({ natsTlsCa: secret(pem.ca) }).tls, { ca: pem.ca, from: { ca: `${ns}:natsTlsCa` } });
        assert.equal(settings({}).tls, undefined);
    });

    test("a certificate file that also holds its key (one combined file, as the nats CLI takes) serves as both", () => {
        const combined = join(dir, "combined.pem");
        writeFileSync(combined, pem.cert + pem.key);
        assert.deepEqual(settings({}, { NATS_CERT: combined, NATS_KEY: combined }).tls,
            { cert: pem.cert, key: pem.key, from: { cert: `NATS_CERT (${combined})`, key: `NATS_KEY (${combined})` } });
    });

    test("the CA is chosen key by key; the certificate and its key come as a pair from one source", () => {
        assert.deepEqual(settings({ natsTlsCa: secret(pem.ca) }, { NATS_CA: "/nowhere/ca.pem", NATS_CERT: pem.cert, NATS_KEY: pem.key }).tls,
            { ca: pem.ca, cert: pem.cert, key: pem.key, from: { ca: "kanade-jetstream:natsTlsCa", cert: "NATS_CERT", key: "NATS_KEY" } });
        refused(() => settings({ natsTlsCert: secret(pem.cert) }, { NATS_KEY: pem.key }),
            [/^kanade-jetstream:natsTlsCert is set without kanade-jetstream:natsTlsKey \(NATS_KEY in the environment is not paired with stack config\): a client certificate and its private key go together/]);
        refused(() => settings({ natsTlsKey: secret(pem.key) }),
            [/^kanade-jetstream:natsTlsKey is set without kanade-jetstream:natsTlsCert: /]);
        refused(() => settings({}, { NATS_KEY: files.clientKeyFile }), [/^NATS_KEY is set without NATS_CERT: /]);
    });

    test("PEM that does not parse, or is in the wrong key: the key or variable is named, the material never", () => {
        const garbageKey = "-----BEGIN PRIVATE KEY-----\nTUlHSEFnRUFNQk1HQnlxR1NNNDlBZ0VHQ0NxR1NNNDlBd0VIQkcwd2F3SUJBUVFn\n-----END PRIVATE KEY-----";
        const withCert = (key: string) => ({ natsTlsCert: secret(pem.cert), natsTlsKey: key });
        refused(() => settings(withCert(garbageKey)),
            [/^kanade-jetstream:natsTlsKey does not hold a PEM private key that Node\.js can read \(ERR_OSSL_[A-Z0-9_]+\): give the client's unencrypted PEM private key/],
            pemBodyLines(garbageKey));
        refused(() => settings(withCert(read(files.caKeyFile))),
            [/^kanade-jetstream:natsTlsKey is not the private key of the client certificate in kanade-jetstream:natsTlsCert \(CN=kanade-test-client\)/]);
        refused(() => settings(withCert(secret(pem.cert))), [/^kanade-jetstream:natsTlsKey holds no PEM private key/]);
        const encrypted = createPrivateKey(pem.key).export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "kanade" }) as string;
        refused(() => settings(withCert(encrypted)), [/^kanade-jetstream:natsTlsKey is an encrypted private key, and there is no passphrase setting/],
            pemBodyLines(encrypted));
        refused(() => settings({ natsTlsCert: secret(pem.key), natsTlsKey: secret(pem.key) }),
            [/^kanade-jetstream:natsTlsCert holds no PEM certificate \(-----BEGIN CERTIFICATE-----\): give the client's PEM certificate/]);
        const garbageCert = "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----";
        refused(() => settings({ natsTlsCa: secret(pem.ca) + "\n" + garbageCert }),
            [/^kanade-jetstream:natsTlsCa: certificate 2 of 2 does not parse \(ERR_OSSL_[A-Z0-9_]+\): give the PEM certificate\(s\) of the CA/]);
        refused(() => settings({ natsTlsCa: pem.ca + read(files.caKeyFile) }), [/^kanade-jetstream:natsTlsCa holds a private key, which must not be there/]);
        // From a file: the variable and the path are named.
        refused(() => settings({}, { NATS_CERT: files.clientKeyFile, NATS_KEY: files.clientKeyFile }),
            [new RegExp(`^NATS_CERT \\(${files.clientKeyFile.replace(/[.]/g, "\\.")}\\) holds no PEM certificate`)]);
    });

    test("neither a path nor PEM text (base64, several lines): refused without being repeated", () => {
        const base64 = Buffer.from(pem.key).toString("base64");
        refused(() => settings({}, { NATS_CERT: files.clientCertFile, NATS_KEY: base64 }),
            [/^NATS_KEY is neither a file path nor PEM text \(which starts with -----BEGIN; base64 is not decoded\)/], [base64.slice(0, 40)]);
        refused(() => settings({ natsTlsCert: secret(pem.cert), natsTlsKey: "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0w\nsecond line of something" }),
            [/^kanade-jetstream:natsTlsKey is neither a file path nor PEM text/], ["MIGHAgEAMBMG", "second line"]);
    });

    test("a path that cannot be read: the key, the path and why", () => {
        const missing = join(dir, "missing-ca.pem");
        refused(() => settings({ natsTlsCa: missing }),
            [new RegExp(`^kanade-jetstream:natsTlsCa names ${missing.replace(/[.]/g, "\\.")}, which cannot be read \\(ENOENT\\): point it at the PEM certificate\\(s\\) of the CA`)]);
    });

    test("through a provider: the resource, what failed and the key, never the material", async () => {
        await configure({ servers: "nats://127.0.0.1:1", natsTlsCert: secret(pem.cert), natsTlsKey: read(files.caKeyFile) });
        const message = await rejects(created(stream, { name: "BADTLSKEY", subjects: ["badtlskey.>"] }),
            /^stream "BADTLSKEY": (planning|create) failed: kanade-jetstream:natsTlsKey is not the private key of the client certificate/);
        for (const line of pemBodyLines(read(files.caKeyFile))) assert.ok(!message.includes(line), message);
    });

    /** TCP sockets this process holds (a TLS socket rides on one). */
    const openSockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

    /**
     * A connection the TLS handshake refuses: the provider fails within 10 s
     * (the connect timeout is 3 s) with the broker's URL and every pattern,
     * repeats no line of a private key, and leaves no socket open.
     */
    async function tlsRefused(name: string, url: string, patterns: RegExp[], keys: string[]): Promise<string> {
        const before = openSockets();
        const message = await rejectsWithin(10_000, created(stream, { name, subjects: [`${name.toLowerCase()}.>`] }),
            new RegExp(`^stream "${name}": (planning|create) failed: cannot reach NATS at ${escaped(url)}: `), ...patterns);
        for (const line of [...pemBodyLines(pem.key), ...keys.flatMap((k) => pemBodyLines(read(k)))]) {
            assert.ok(!message.includes(line), `the error repeats key material: ${message}`);
        }
        for (let waited = 0; openSockets() > before; waited += 50) {
            assert.ok(waited < 2000, `a socket is left open after the refused connection (${openSockets()} open, ${before} before)`);
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return message;
    }

    for (const version of bothServerVersions()) {
        describe(`nats-server ${version.version} requiring client certificates`, () => {
            let mtls: NatsServer;
            /** A TLS server whose certificate names neither 127.0.0.1 nor localhost. */
            let misnamed: NatsServer;
            let misnamedCa: string;
            before(async () => {
                const other = generateTls(mkdtempSync(join(dir, "misnamed-")), "DNS:elsewhere.example");
                misnamedCa = other.caFile;
                [mtls, misnamed] = await Promise.all([
                    startServer({ bin: version.bin, tlsVerify: true }),
                    startServer({ bin: version.bin, config: { tls: { cert_file: other.certFile, key_file: other.keyFile, timeout: 5 } } }),
                ]);
            });
            after(async () => {
                await closeConnections();
                await Promise.all([mtls, misnamed].map((s) => s?.stop()));
            });

            test("CA, certificate and key as PEM text in the stack config, or in the environment", async () => {
                const t = mtls.tls!;
                await configure({ servers: mtls.url, natsTlsCa: secret(read(t.caFile)), natsTlsCert: secret(read(t.clientCertFile)), natsTlsKey: secret(read(t.clientKeyFile)) });
                await roundTrip();
                await configure({});
                await withEnv({ ...NO_NATS_ENV, NATS_URL: mtls.url, NATS_CA: read(t.caFile), NATS_CERT: read(t.clientCertFile), NATS_KEY: read(t.clientKeyFile) }, roundTrip);
            });

            test("no client certificate: the server's refusal, and the keys or variables to set", async () => {
                const t = mtls.tls!;
                // Node names the server's alert (certificate required; bad certificate from 2.9), or the reset that can beat it.
                const refusal = /the server requires a client certificate and none was sent \((ERR_SSL_\S+ALERT_\S+|ECONNRESET right after the TLS handshake[^)]*)\)/;
                const set = /set kanade-jetstream:natsTlsCert and kanade-jetstream:natsTlsKey, or NATS_CERT and NATS_KEY/;
                await configure({ servers: mtls.url, natsTlsCa: t.caFile });
                await tlsRefused("NOCLIENTCERT", mtls.url, [refusal, set,
                    new RegExp(`TLS settings used: CA from kanade-jetstream:natsTlsCa \\(${escaped(t.caFile)}\\), no client certificate\\)$`)], []);
                await configure({});
                await withEnv({ ...NO_NATS_ENV, NATS_URL: mtls.url, NATS_CA: t.caFile }, () =>
                    tlsRefused("NOCLIENTCERTENV", mtls.url, [refusal, set, new RegExp(`CA from NATS_CA \\(${escaped(t.caFile)}\\), no client certificate`)], []));
                assert.equal(await streamInfo(await mtls.connect(), "NOCLIENTCERT"), undefined);
            });

            test("a client certificate of another CA: the server's refusal, naming where the certificate came from", async () => {
                const t = mtls.tls!;
                await configure({ servers: mtls.url, natsTlsCa: secret(read(t.caFile)), natsTlsCert: secret(pem.cert), natsTlsKey: secret(pem.key) });
                await tlsRefused("FOREIGNCERT", mtls.url, [
                    /the server refused the client certificate in kanade-jetstream:natsTlsCert \((ERR_SSL_\S+ALERT_(UNKNOWN_CA|BAD_CERTIFICATE)|ECONNRESET right after the TLS handshake[^)]*)\): it is not signed by a CA the server trusts for clients/,
                    /TLS settings used: CA from kanade-jetstream:natsTlsCa, client certificate from kanade-jetstream:natsTlsCert, key from kanade-jetstream:natsTlsKey\)$/,
                ], []);
                assert.equal(await streamInfo(await mtls.connect(), "FOREIGNCERT"), undefined);
            });

            test("a CA that did not sign the server's certificate, or none: the server's certificate is not trusted, and where to set the CA", async () => {
                const t = mtls.tls!;
                await configure({ servers: mtls.url, natsTlsCa: secret(pem.ca), natsTlsCert: t.clientCertFile, natsTlsKey: t.clientKeyFile });
                await tlsRefused("WRONGCA", mtls.url, [
                    /the server's certificate is not signed by the CA in kanade-jetstream:natsTlsCa \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): set it to the CA that signed the servers' certificates/,
                    new RegExp(`client certificate from kanade-jetstream:natsTlsCert \\(${escaped(t.clientCertFile)}\\)`),
                ], [t.clientKeyFile]);
                await configure({});
                await withEnv({ ...NO_NATS_ENV, NATS_URL: mtls.url, NATS_CA: files.caFile, NATS_CERT: t.clientCertFile, NATS_KEY: t.clientKeyFile }, () =>
                    tlsRefused("WRONGCAENV", mtls.url, [new RegExp(`not signed by the CA in NATS_CA \\(${escaped(files.caFile)}\\) \\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\)`)],
                        [t.clientKeyFile]));
                await configure({ servers: mtls.url });
                await tlsRefused("NOCA", mtls.url, [
                    /not signed by a CA Node\.js trusts by default, and no CA is set \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): set kanade-jetstream:natsTlsCa or NATS_CA to the CA/,
                    /TLS settings used: no CA set \(Node\.js' default CAs\), no client certificate\)$/,
                ], []);
            });

            test("a server certificate for another host name: the names Node compared", async () => {
                await configure({ servers: misnamed.url, natsTlsCa: misnamedCa });
                await tlsRefused("MISNAMED", misnamed.url, [
                    /the server's certificate does not name the host in the URL \(ERR_TLS_CERT_ALTNAME_INVALID: .*elsewhere\.example\): connect by a name or IP address the certificate lists/,
                ], []);
            });
        });
    }
});
