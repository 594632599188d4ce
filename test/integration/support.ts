// Shared helpers of the provider integration suites: pointing the providers
// at a harness server, calling them the way the Pulumi engine does, and
// reading the broker back independently of them (raw $JS.API requests).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { type NatsConnection } from "nats";
import { atLeast, type Field, parseVersion, RULES } from "../../providers/rules.ts";
import { provider as streamProvider } from "../../providers/stream.ts";
import { after, before } from "node:test";
import { closeConnections } from "../../providers/connection.ts";
import { REGISTRY_BUCKET, REGISTRY_STREAM } from "../../providers/ownership.ts";
import {
    jsApi, JsApiError, type LeafPair, type NatsServer, type ServerVersion, startLeafPair, startServer, startTwoAccounts, type StreamInfo, streamInfo,
    type TwoAccounts, withoutServerMetadata,
} from "../harness/nats.ts";

export type Provider = pulumi.dynamic.ResourceProvider;
export type Props = Record<string, unknown> & { stream: string; config: Record<string, unknown>; allowDataLoss: boolean };

/**
 * Points every provider at `settings` (stack config keys: servers, natsUser,
 * ...). configure() of one kind configures all: they share lifecycle.ts.
 */
export async function configure(settings: Record<string, string | undefined>): Promise<void> {
    // As the SDK's dynamic-provider Config: unqualified keys are the project's.
    const project = "kanade-jetstream:";
    const config = { projectName: "kanade-jetstream", get: (key: string) => settings[key.startsWith(project) ? key.slice(project.length) : key] };
    await streamProvider.configure!({ config } as unknown as pulumi.dynamic.ConfigureRequest);
}

/**
 * A harness server of `version` for the calling describe, started in before()
 * and stopped in after(), with the providers pointed at it.
 */
export function brokerForSuite(version: ServerVersion): { server: NatsServer; nc: NatsConnection } {
    const broker = {} as { server: NatsServer; nc: NatsConnection };
    before(async () => {
        broker.server = await startServer({ bin: version.bin });
        broker.nc = await broker.server.connect();
        await configure(configFor(broker.server));
    });
    after(async () => {
        await closeConnections();
        await broker.server?.stop();
    });
    return broker;
}

/**
 * A hub and its leaf node, each with its own JetStream domain (harness
 * startLeafPair), for the calling describe, with a connection to each; the
 * providers are left for each test to point.
 */
export function leafPairForSuite(opts: Parameters<typeof startLeafPair>[0]): { pair: LeafPair; hub: NatsConnection; leaf: NatsConnection } {
    const suite = {} as { pair: LeafPair; hub: NatsConnection; leaf: NatsConnection };
    before(async () => {
        suite.pair = await startLeafPair(opts);
        [suite.hub, suite.leaf] = await Promise.all([suite.pair.hub.connect(), suite.pair.leaf.connect()]);
    });
    after(async () => {
        await closeConnections();
        await suite.pair?.stop();
    });
    return suite;
}

/** A server with accounts A and B, B importing A's JetStream API (harness startTwoAccounts), for the calling describe, connected as each. */
export function twoAccountsForSuite(version: ServerVersion): { accounts: TwoAccounts; a: NatsConnection; b: NatsConnection } {
    const suite = {} as { accounts: TwoAccounts; a: NatsConnection; b: NatsConnection };
    before(async () => {
        suite.accounts = await startTwoAccounts({ bin: version.bin });
        [suite.a, suite.b] = await Promise.all([suite.accounts.server.connect(suite.accounts.a), suite.accounts.server.connect(suite.accounts.b)]);
    });
    after(async () => {
        await closeConnections();
        await suite.accounts?.server.stop();
    });
    return suite;
}

/** The registry's owner of a stream, read on that JetStream's own $JS.API (undefined: no entry, released, or no registry). */
export async function registeredOwner(nc: NatsConnection, streamName: string): Promise<string | undefined> {
    try {
        const { message } = await jsApi<{ message: { data?: string; hdrs?: string } }>(
            nc, `$JS.API.STREAM.MSG.GET.${REGISTRY_STREAM}`, { last_by_subj: `$KV.${REGISTRY_BUCKET}.${streamName}` });
        if (message.hdrs && /KV-Operation: (DEL|PURGE)/.test(Buffer.from(message.hdrs, "base64").toString())) return undefined;
        return Buffer.from(message.data ?? "", "base64").toString();
    } catch (err) {
        if (err instanceof JsApiError && (err.errCode === 10037 || err.errCode === 10059)) return undefined;
        throw err;
    }
}

/** Stack config for an unauthenticated harness server. */
export const configFor = (server: NatsServer): Record<string, string> => ({ servers: server.url });

/** check() that must succeed: the checked inputs. */
export async function checked(p: Provider, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
    const r = await p.check!({}, raw);
    assert.equal(r.failures, undefined, `check failed: ${JSON.stringify(r.failures)}`);
    return r.inputs as Record<string, unknown>;
}

/** check() then create(): id, outputs, the checked inputs, and the inputs read() gives back for it (what plans compare). */
export async function created(p: Provider, raw: Record<string, unknown>): Promise<{ id: string; outs: Props; inputs: Record<string, unknown>; stored: Record<string, unknown> }> {
    const inputs = await checked(p, raw);
    const r = await p.create(inputs);
    const back = await p.read!(r.id, r.outs);
    return { id: r.id, outs: r.outs as Props, inputs, stored: back.inputs as Record<string, unknown> };
}

/** Awaits a rejection whose message matches every pattern; returns the message. */
export async function rejects(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
    const message = await promise.then(
        (v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`),
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    for (const p of patterns) assert.match(message, p);
    return message;
}

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "async-nats-0.49");

/**
 * The golden read-back of the async-nats 0.49 bootstrap for this server line,
 * without `_nats.*` metadata. 2.10 and 2.11 store what 2.12 does, less the
 * fields they do not know yet (rules.ts).
 */
export function golden(version: ServerVersion, stream: string): Record<string, unknown> {
    const dir = version.label === "2.9" ? "server-2.9-replay" : "server-2.12";
    const config = withoutServerMetadata(JSON.parse(readFileSync(join(FIXTURES, dir, `${stream}.json`), "utf8")));
    const v = parseVersion(version.version);
    return Object.fromEntries(Object.entries(config).filter(([k]) => !(k in RULES) || atLeast(v, RULES[k as Field].since)));
}

/** The pre-cap (async-nats bootstrap before #506) config of a stream, ready to send as a create request. */
export function precap(stream: string): Record<string, unknown> {
    return withoutServerMetadata(JSON.parse(readFileSync(join(FIXTURES, "precap-server-2.12", `${stream}.json`), "utf8")));
}

/** The stream's stored config, read with a raw request and without `_nats.*` metadata. */
export async function brokerConfig(nc: NatsConnection, stream: string): Promise<Record<string, unknown>> {
    return withoutServerMetadata((await streamInfo(nc, stream))!.config);
}

export { streamInfo };

export async function messages(nc: NatsConnection, stream: string): Promise<number> {
    return (await streamInfo(nc, stream))!.state.messages;
}

/** A raw STREAM.CREATE, bypassing the providers. */
export async function rawCreate(nc: NatsConnection, config: Record<string, unknown>): Promise<Record<string, unknown>> {
    return (await jsApi<StreamInfo>(nc, `$JS.API.STREAM.CREATE.${config.name as string}`, config)).config;
}

/** A raw STREAM.UPDATE of some fields, sending the full current config (the API replaces). */
export async function rawUpdate(nc: NatsConnection, stream: string, change: Record<string, unknown>): Promise<Record<string, unknown>> {
    const current = (await streamInfo(nc, stream))!.config;
    return (await jsApi<StreamInfo>(nc, `$JS.API.STREAM.UPDATE.${stream}`, { ...current, ...change })).config;
}

export async function rawDelete(nc: NatsConnection, stream: string): Promise<void> {
    await jsApi(nc, `$JS.API.STREAM.DELETE.${stream}`);
}

/** Publishes `count` messages through JetStream (acknowledged, so stored when this resolves). */
export async function publish(nc: NatsConnection, subject: string, count: number): Promise<void> {
    const js = nc.jetstream();
    for (let i = 0; i < count; i++) await js.publish(subject, new TextEncoder().encode(`message ${i}`));
}

/** Sets and restores environment variables around `fn`. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const apply = (v: Record<string, string | undefined>) => {
        for (const [k, value] of Object.entries(v)) {
            if (value === undefined) delete process.env[k];
            else process.env[k] = value;
        }
    };
    apply(vars);
    try {
        return await fn();
    } finally {
        apply(saved);
    }
}

/** Every NATS_* variable the providers read, unset: for tests that must not pick up the caller's environment. */
export const NO_NATS_ENV: Record<string, undefined> = Object.fromEntries(
    ["NATS_URL", "NATS_USER", "NATS_PASSWORD", "NATS_TOKEN", "NATS_CREDS", "NATS_NKEY", "NATS_CA", "NATS_CERT", "NATS_KEY", "NATS_JS_DOMAIN", "NATS_JS_API_PREFIX"].map((k) => [k, undefined]),
);

/** Drops the caller's NATS_* variables for this process, so only what a test configures is used. */
export function isolateFromNatsEnv(): void {
    for (const k of Object.keys(NO_NATS_ENV)) delete process.env[k];
}
