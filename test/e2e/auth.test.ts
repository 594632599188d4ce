// Authentication through the real pulumi CLI: every way the program takes
// credentials (the environment the way the nats CLI reads it, or Pulumi
// secrets in the stack config) against a broker that requires them, wrong
// credentials refused with a message that says so, and no secret in
// `pulumi stack export`, the file backend or the CLI's output (TLS material
// as secrets included).
//
// Each test has its own broker and stack; tests run side by side
// (KANADE_E2E_CONCURRENCY, default 2).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { nkeys } from "nats";
import { type AuthOptions, type NatsServer, type ServerOptions, type ServerVersion, e2eServerVersions, startServer } from "../harness/nats.ts";
import { createOperatorSetup } from "../harness/jwt.ts";
import { type CliResult, PulumiWorkspace } from "../harness/pulumi.ts";
import { pemBodyLines } from "../harness/tls.ts";
import { FLEET_STREAMS, NAMESPACE, cli, cliOk, fleetStack, setStackConfig, streamNames } from "./stack.ts";

const CONCURRENCY = Number(process.env.KANADE_E2E_CONCURRENCY ?? 2);
const versions = e2eServerVersions();
const current = versions.find((v) => v.label !== "2.9") ?? versions[0];
const legacy = versions.find((v) => v.label === "2.9");

/** What connectError says when the broker refuses the credentials. */
const REFUSED = /refused the credentials \([^)]*(authoriz|authenticat)[^)]*\)/i;

/** The fleet's streams are on the broker, read back over the harness's own authenticated connection. */
async function assertFleetOnBroker(server: NatsServer): Promise<void> {
    const nc = await server.connect();
    try {
        assert.deepEqual(await streamNames(nc), [...FLEET_STREAMS]);
    } finally {
        await nc.close();
    }
}

/** No secret in the state, the stack's config file (only ciphertext) or any CLI output. */
async function assertNoSecrets(ws: PulumiWorkspace, secrets: string[], outputs: CliResult[]): Promise<void> {
    const state = await ws.exportState();
    const configFile = await ws.readConfigFile().catch(() => "");
    for (const secret of secrets) {
        assert.ok(secret.length >= 8, `not a meaningful secret to look for: ${JSON.stringify(secret)}`);
        assert.ok(!state.text.includes(secret), `pulumi stack export contains a secret in plain text (${secret.slice(0, 6)}...)`);
        assert.ok(!configFile.includes(secret), `the stack config file contains a secret in plain text (${secret.slice(0, 6)}...)`);
        for (const r of outputs) assert.ok(!r.output.includes(secret), `the CLI printed a secret (${secret.slice(0, 6)}...):\n${r.output}`);
    }
}

/**
 * None of `secrets` in any file of the stack's file backend (checkpoints,
 * history, backups): what `pulumi stack export` shows is not all it keeps.
 */
function assertNotInBackend(ws: PulumiWorkspace, secrets: string[]): void {
    const root = path.join(ws.dir, "state");
    const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
    const texts = files.map((f) => ({ f, text: (f.endsWith(".gz") ? gunzipSync(readFileSync(f)) : readFileSync(f)).toString("utf8") }));
    assert.ok(texts.some(({ text }) => text.includes("KV_agent_config")), `no checkpoint found under ${root}: ${files.join(", ")}`);
    for (const { f, text } of texts) {
        for (const secret of secrets) assert.ok(!text.includes(secret), `${f} contains a secret in plain text (${secret.slice(0, 6)}...)`);
    }
}

/** The JWT and the nkey seed of a .creds file: the parts that must never show. */
function credsSecrets(creds: string): string[] {
    const jwt = /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(creds)?.[1];
    const seed = /-----BEGIN USER NKEY SEED-----\s*(\S+)/.exec(creds)?.[1];
    assert.ok(jwt && seed, "cannot find the JWT and seed in the creds file");
    // The JWT's header is the same for every user; its claims and signature are what identify this one.
    return [jwt.split(".").slice(1).join("."), seed];
}

/**
 * `pulumi config set --secret <key>` with the value on stdin, as Pulumi.prod.yaml
 * documents it for creds files (a value starting with "-----BEGIN" cannot be an argument).
 */
function setSecretFromStdin(ws: PulumiWorkspace, key: string, value: string): void {
    const env = ws.env;
    const r = spawnSync(
        "pulumi",
        ["config", "set", "--secret", `${NAMESPACE}:${key}`, "--non-interactive", "--stack", ws.stack, "--config-file", ws.configFile],
        { cwd: ws.projectDir, env, input: value, encoding: "utf8" },
    );
    assert.equal(r.status, 0, `pulumi config set --secret ${key} < file failed:\n${r.stdout}${r.stderr}`);
}

async function broker(version: ServerVersion, opts: ServerOptions): Promise<NatsServer> {
    const server = await startServer({ bin: version.bin, ...opts });
    after(() => server.stop());
    return server;
}

async function stack(server: NatsServer, config: Record<string, string> = {}): Promise<PulumiWorkspace> {
    const ws = await fleetStack(server, config);
    after(() => ws.dispose());
    return ws;
}

/** A broker that wants a user and password, and a stack that has them as secrets (natsUser, natsPassword). */
async function secretUserStack(): Promise<{ auth: { user: string; password: string }; server: NatsServer; ws: PulumiWorkspace }> {
    const auth = { user: USER, password: password() };
    const server = await broker(current, { auth });
    const ws = await stack(server);
    await ws.setConfig(`${NAMESPACE}:natsUser`, USER);
    await ws.setConfig(`${NAMESPACE}:natsPassword`, auth.password, { secret: true });
    return { auth, server, ws };
}

/** A scratch dir for credential files the broker does not know. */
async function scratch(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), "kanade-auth-"));
    after(() => rm(dir, { recursive: true, force: true }));
    return dir;
}

/** The credentials env of a harness server, without NATS_URL: the stack config names the server. */
function credentialsEnv(server: NatsServer): NodeJS.ProcessEnv {
    const { NATS_URL: _, ...env } = server.env;
    return env;
}

/** up with credentials from the environment; the fleet lands on the broker; nothing leaks. */
async function upWithEnv(server: NatsServer, secrets: string[]): Promise<{ ws: PulumiWorkspace; up: CliResult }> {
    const ws = await stack(server);
    const env = credentialsEnv(server);
    const up = await cliOk(ws, ["up", "--yes"], env);
    await assertFleetOnBroker(server);
    await assertNoSecrets(ws, secrets, [up]);
    return { ws, up };
}

/** A preview that the broker refuses: non-zero, and the output names the credentials. */
async function refused(ws: PulumiWorkspace, env: NodeJS.ProcessEnv, pattern = REFUSED): Promise<CliResult> {
    const r = await cli(ws, ["preview"], env);
    assert.notEqual(r.code, 0, `preview with wrong credentials should fail:\n${r.output}`);
    assert.match(r.output, pattern, r.output);
    return r;
}

const USER = "kanade-ops";
const password = () => `pw-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}`;

describe(`authentication, nats-server ${current.version}`, { concurrency: CONCURRENCY }, () => {
    test("user/password from NATS_USER/NATS_PASSWORD; a wrong password is refused", async () => {
        const auth: AuthOptions = { user: USER, password: password() };
        const server = await broker(current, { auth });
        const { ws } = await upWithEnv(server, [auth.password]);
        const wrong = await refused(ws, { NATS_USER: USER, NATS_PASSWORD: "not-the-password" });
        await assertNoSecrets(ws, [auth.password], [wrong]);
        // No credentials at all: refused too, not a hang.
        await refused(ws, {});
    });

    test("user/password as Pulumi secrets (natsUser, natsPassword); env credentials are not needed", async () => {
        const { auth, server, ws } = await secretUserStack();
        const up = await cliOk(ws, ["up", "--yes"]);
        await assertFleetOnBroker(server);
        const again = await cliOk(ws, ["preview", "--expect-no-changes"]);
        await assertNoSecrets(ws, [auth.password], [up, again]);
        // Stack config wins over the environment, so a stale NATS_PASSWORD does not matter;
        // a wrong secret is refused.
        await cliOk(ws, ["preview", "--expect-no-changes"], { NATS_USER: USER, NATS_PASSWORD: "stale" });
        await ws.setConfig(`${NAMESPACE}:natsPassword`, "not-the-password", { secret: true });
        await refused(ws, {});
    });

    test("a credential set as plain text in stack config: preview and up refuse it by name, nothing is created or recorded", async () => {
        const { auth, server, ws } = await secretUserStack();
        await ws.setConfig(`${NAMESPACE}:natsPassword`, auth.password, { plaintext: true });
        const plain = /kanade-jetstream:natsPassword is set as plain text: the stack's state would record it in clear/;
        for (const command of [["preview"], ["up", "--yes"]]) {
            const r = await cli(ws, command);
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, plain, r.output);
            assert.match(r.output, /pulumi config set --secret kanade-jetstream:natsPassword/, r.output);
            assert.doesNotMatch(r.output, new RegExp(auth.password), "the refusal does not repeat the value");
        }
        const nc = await server.connect();
        assert.deepEqual(await streamNames(nc), [], "nothing was created");
        await nc.close();
        assert.ok(!(await ws.exportState()).text.includes(auth.password), "the state does not hold the password");
    });

    test("token from NATS_TOKEN; a wrong token is refused", async () => {
        const token = `tok-${password()}`;
        const server = await broker(current, { auth: { token } });
        const { ws } = await upWithEnv(server, [token]);
        const wrong = await refused(ws, { NATS_TOKEN: "not-the-token-at-all" });
        await assertNoSecrets(ws, [token], [wrong]);
    });

    test("nkey from NATS_NKEY (seed file); an unknown nkey is refused", async () => {
        const server = await broker(current, { auth: { nkey: true } });
        const { ws } = await upWithEnv(server, [server.nkeySeed!]);
        const dir = await scratch();
        const stranger = path.join(dir, "stranger.nk");
        writeFileSync(stranger, new TextDecoder().decode(nkeys.createUser().getSeed()) + "\n");
        await refused(ws, { NATS_NKEY: stranger });
    });

    test("nkey seed as a Pulumi secret (natsNkeySeed)", async () => {
        const server = await broker(current, { auth: { nkey: true } });
        const ws = await stack(server);
        await ws.setConfig(`${NAMESPACE}:natsNkeySeed`, server.nkeySeed!, { secret: true });
        const up = await cliOk(ws, ["up", "--yes"]);
        await assertFleetOnBroker(server);
        await assertNoSecrets(ws, [server.nkeySeed!], [up]);
    });

    test("creds file from NATS_CREDS; creds of another operator are refused", async () => {
        const server = await broker(current, { auth: { creds: true } });
        const creds = readFileSync(server.credsFile!, "utf8");
        const { ws } = await upWithEnv(server, credsSecrets(creds));
        const dir = await scratch();
        const foreign = path.join(dir, "foreign.creds");
        writeFileSync(foreign, createOperatorSetup().userCreds);
        await refused(ws, { NATS_CREDS: foreign });
    });

    test("creds file contents as a Pulumi secret (natsCreds), set from stdin as Pulumi.prod.yaml documents", async () => {
        const server = await broker(current, { auth: { creds: true } });
        const creds = readFileSync(server.credsFile!, "utf8");
        const ws = await stack(server);
        setSecretFromStdin(ws, "natsCreds", creds);
        const up = await cliOk(ws, ["up", "--yes"]);
        await assertFleetOnBroker(server);
        const again = await cliOk(ws, ["preview", "--expect-no-changes"]);
        await assertNoSecrets(ws, credsSecrets(creds), [up, again]);
    });

    test("TLS with the CA from NATS_CA; without the CA the certificate is rejected", async () => {
        const server = await broker(current, { tls: true });
        await upWithEnv(server, []);
        const ws = await stack(server);
        await refused(ws, {}, /cannot reach NATS at [^\n]*certificate/i);
    });

    test("TLS with client certificates (verify) from NATS_CA/NATS_CERT/NATS_KEY, and as stack config paths", async () => {
        const server = await broker(current, { tlsVerify: true, auth: { user: USER, password: password() } });
        await upWithEnv(server, [(server.env.NATS_PASSWORD as string)]);
        // The same through stack config: natsTlsCa/natsTlsCert/natsTlsKey (paths), password as a secret.
        const ws = await stack(server);
        await setStackConfig(ws, { natsTlsCa: server.tls!.caFile, natsTlsCert: server.tls!.clientCertFile, natsTlsKey: server.tls!.clientKeyFile, natsUser: USER });
        await ws.setConfig(`${NAMESPACE}:natsPassword`, server.env.NATS_PASSWORD as string, { secret: true });
        await cliOk(ws, ["preview"]); // connects (a fresh stack plans to adopt the fleet)
        // Without a client certificate the server ends the handshake.
        const bare = await stack(server);
        const r = await cli(bare, ["preview"], { NATS_CA: server.tls!.caFile, NATS_USER: USER, NATS_PASSWORD: server.env.NATS_PASSWORD });
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /cannot reach NATS at (nats|tls):\/\/127\.0\.0\.1:\d+: the server requires a client certificate and none was sent/, r.output);
        assert.match(r.output, /set kanade-jetstream:natsTlsCert and kanade-jetstream:natsTlsKey, or NATS_CERT and NATS_KEY/, r.output);
    });

    test("TLS CA, client certificate and key as Pulumi secrets (PEM text): up against a broker that verifies clients; no line of them in the state", async () => {
        const server = await broker(current, { tlsVerify: true });
        const t = server.tls!;
        const material = { natsTlsCa: readFileSync(t.caFile, "utf8"), natsTlsCert: readFileSync(t.clientCertFile, "utf8"), natsTlsKey: readFileSync(t.clientKeyFile, "utf8") };
        const ws = await stack(server);
        for (const [key, pem] of Object.entries(material)) setSecretFromStdin(ws, key, pem);
        // No NATS_* variable: the broker only lets in a client with this certificate, so up proves the secrets were used.
        const up = await cliOk(ws, ["up", "--yes"]);
        await assertFleetOnBroker(server);
        const again = await cliOk(ws, ["preview", "--expect-no-changes"]);
        const lines = Object.values(material).flatMap(pemBodyLines);
        await assertNoSecrets(ws, lines, [up, again]);
        assertNotInBackend(ws, lines);
        // A key that is not the certificate's: preview fails naming the keys, printing none of it.
        const wrongKey = readFileSync(t.keyFile, "utf8");
        setSecretFromStdin(ws, "natsTlsKey", wrongKey);
        const r = await cli(ws, ["preview"]);
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /kanade-jetstream:natsTlsKey is not the private key of the client certificate in kanade-jetstream:natsTlsCert/, r.output);
        for (const line of [...lines, ...pemBodyLines(wrongKey)]) assert.ok(!r.output.includes(line), `the CLI printed key material:\n${r.output}`);
    });

    test("stack secrets are the only source once set: a stray NATS_TOKEN and a stale NATS_CREDS path are neither read nor sent", async () => {
        const { auth, server, ws } = await secretUserStack();
        const stray = { NATS_TOKEN: "stray-token-from-another-shell", NATS_CREDS: path.join(await scratch(), "stale.creds") };
        const up = await cliOk(ws, ["up", "--yes"], stray);
        await assertFleetOnBroker(server);
        await assertNoSecrets(ws, [auth.password], [up]);
    });

    test("NATS_CREDS naming a missing file, NATS_NKEY holding no seed: preview fails naming the variable and the file, not the contents", async () => {
        const server = await broker(current, { auth: { nkey: true } });
        const ws = await stack(server);
        const dir = await scratch();
        const missing = path.join(dir, "missing.creds");
        const r = await cli(ws, ["preview"], { NATS_CREDS: missing });
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, new RegExp(`NATS_CREDS names ${missing.replace(/[.]/g, "\\.")}, which cannot be read \\(ENOENT\\)`), r.output);
        const garbage = path.join(dir, "garbage.nk");
        writeFileSync(garbage, "SUnot-a-seed-but-private-anyway\n");
        const bad = await cli(ws, ["preview"], { NATS_NKEY: garbage });
        assert.notEqual(bad.code, 0, bad.output);
        assert.match(bad.output, new RegExp(`NATS_NKEY \\(${garbage.replace(/[.]/g, "\\.")}\\) does not hold a valid nkey user seed`), bad.output);
        assert.ok(!bad.output.includes("not-a-seed-but-private"), bad.output);
    });

    test("credentials inside a server URL are refused without being printed", async () => {
        const auth = { user: USER, password: password() };
        const server = await broker(current, { auth });
        const ws = await stack(server);
        await setStackConfig(ws, { servers: server.url.replace("nats://", `nats://${USER}:${auth.password}@`) });
        const r = await cli(ws, ["preview"]);
        assert.notEqual(r.code, 0, r.output);
        assert.match(r.output, /kanade-jetstream:servers entry 1 carries credentials in the URL \(not repeated here\)/, r.output);
        assert.ok(!r.output.includes(auth.password), `the CLI printed the password from the URL:\n${r.output}`);
    });
});

if (legacy) {
    describe(`authentication, nats-server ${legacy.version}`, () => {
        test("user/password from NATS_USER/NATS_PASSWORD; a wrong password is refused", async () => {
            const auth = { user: USER, password: password() };
            const server = await broker(legacy, { auth });
            const { ws } = await upWithEnv(server, [auth.password]);
            await refused(ws, { NATS_USER: USER, NATS_PASSWORD: "not-the-password" });
        });
    });
}
