// Shared helpers of the end-to-end suites: a harness broker plus a Pulumi
// stack of this project pointed at it, driven through the real pulumi CLI,
// and the broker read back independently of the program (raw $JS.API
// requests, expectations from the async-nats fixtures, never from fleet/).
//
//   const broker = await startBroker(version);            // after(() => broker.stop())
//   const ws = await fleetStack(broker.server, { sizeScale: "0.01" });
//   await cliOk(ws, ["up", "--yes"]);
//   assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
//
// Stable API (used by other e2e files): startBroker, fleetStack, cli, cliOk,
// cliFails, streamNames, streamInfo, streamConfig, withoutServerMetadata,
// goldenConfig, expectedConfig, scaledCap, precapBroker, FLEET_STREAMS,
// FLEET_STREAMS_REV1, NAMESPACE, DEFAULT_SCALE.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type TestContext, after, before, test } from "node:test";
import { type NatsConnection } from "nats";
import { type CliResult, PulumiWorkspace, REPO_ROOT } from "../harness/pulumi.ts";
import { jsApi, type NatsServer, type ServerOptions, type ServerVersion, startServer, type StreamInfo, streamInfo, withoutServerMetadata } from "../harness/nats.ts";
import { REGISTRY_STREAM } from "../../providers/ownership.ts";

export const NAMESPACE = "kanade-jetstream";
/** 1% of production: the fleet reserves ~110 MiB of file storage. */
export const DEFAULT_SCALE = "0.01";
const MIB = 1024 * 1024;

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures", "async-nats-0.49");

/** The fleet's 24 backing streams, sorted (as STREAM.NAMES, sorted, lists them after a full up). */
export const FLEET_STREAMS: readonly string[] = [
    "AUDIT", "EVENTS", "EXEC", "INVENTORY",
    "KV_agent_config", "KV_agent_groups", "KV_agents_state", "KV_fleet_config", "KV_group_contacts", "KV_jobs",
    "KV_jobs_yaml", "KV_notifications_read", "KV_schedules", "KV_schedules_yaml", "KV_script_current", "KV_script_status",
    "NOTIFICATIONS",
    "OBJ_agent_releases", "OBJ_app_packages", "OBJ_collections", "OBJ_result_output", "OBJ_scripts",
    "OBS_EVENTS", "RESULTS",
];
/** The older seed (fleetRevision 1): everything but group_contacts. */
export const FLEET_STREAMS_REV1: readonly string[] = FLEET_STREAMS.filter((s) => s !== "KV_group_contacts");

// ---------------------------------------------------------------- broker

export interface Broker {
    server: NatsServer;
    /** A plain connection for reading back and for changes behind Pulumi's back. */
    nc: NatsConnection;
    version: ServerVersion;
    stop(): Promise<void>;
}

/** One harness nats-server of this version with an open connection; stop() tears both down. */
export async function startBroker(version: ServerVersion, opts: ServerOptions = {}): Promise<Broker> {
    const server = await startServer({ bin: version.bin, ...opts });
    try {
        const nc = await server.connect();
        return { server, nc, version, stop: () => server.stop() };
    } catch (err) {
        await server.stop();
        throw err;
    }
}

// ---------------------------------------------------------------- prerequisites

/**
 * Skips a test whose prerequisite (a tool, a large enough disk) is missing;
 * under CI it fails instead, so CI never passes without running it.
 */
export function missing(t: TestContext, reason: string): void {
    if (process.env.CI) throw new Error(`${reason}; CI must run this test`);
    t.skip(reason);
}

/** Steps of one chain: in order, and skipped once one has failed (their setup is gone). */
export function chain() {
    let failed: string | undefined;
    return (name: string, fn: (t: TestContext) => Promise<void>) =>
        test(name, async (t) => {
            if (failed) return t.skip(`an earlier step failed: ${failed}`);
            try {
                await fn(t);
            } catch (err) {
                failed = name;
                throw err;
            }
        });
}

// ---------------------------------------------------------------- stack

export type StackValue = string | number | boolean;

/**
 * A fresh Pulumi backend with one stack of this project, configured for the
 * server: servers, monitorUrls[0] and sizeScale (DEFAULT_SCALE unless
 * `config` says otherwise). `config` keys are without the namespace; keys
 * with a "." or "[" are set with --path (e.g. "overrides.EVENTS.allowDataLoss").
 */
export async function fleetStack(
    server: Pick<NatsServer, "url" | "monitorUrl">,
    config: Record<string, StackValue> = {},
    opts: { stack?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<PulumiWorkspace> {
    // The test process's pid in the environment of every pulumi process and
    // plugin it starts, so a stray one can be traced back to its suite.
    const env = { KANADE_E2E_PID: String(process.pid), ...opts.env };
    const ws = await PulumiWorkspace.create(REPO_ROOT, opts.stack ?? "e2e", env);
    try {
        await setStackConfig(ws, { servers: server.url, "monitorUrls[0]": server.monitorUrl, sizeScale: DEFAULT_SCALE, ...config });
        return ws;
    } catch (err) {
        await ws.dispose();
        throw err;
    }
}

/**
 * A broker of `version` and a fleet stack on it for the calling describe,
 * started in before() and torn down in after(); read them in its tests.
 */
export function fleetForSuite(version: ServerVersion, config: Record<string, StackValue> = {}): { readonly broker: Broker; readonly ws: PulumiWorkspace } {
    const suite = {} as { broker: Broker; ws: PulumiWorkspace };
    before(async () => {
        suite.broker = await startBroker(version);
        suite.ws = await fleetStack(suite.broker.server, config);
    });
    after(async () => {
        await suite.broker?.stop();
        await suite.ws?.dispose();
    });
    return suite;
}

/** Sets stack config keys (without the namespace); dotted or indexed keys go through --path. */
export async function setStackConfig(ws: PulumiWorkspace, config: Record<string, StackValue>): Promise<void> {
    for (const [key, value] of Object.entries(config)) {
        await ws.setConfig(`${NAMESPACE}:${key}`, String(value), { path: /[.[]/.test(key) });
    }
}

// ---------------------------------------------------------------- CLI

/** `pulumi <args>`, with timing, never throwing on a non-zero exit. */
export async function cli(ws: PulumiWorkspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const started = Date.now();
    const r = await ws.run(args, env);
    if (process.env.KANADE_E2E_TIMING) console.error(`# pulumi ${args.join(" ")}: exit ${r.code} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    return r;
}

/** `pulumi <args>` that must exit 0; the CLI output is the failure message. */
export async function cliOk(ws: PulumiWorkspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const r = await cli(ws, args, env);
    assert.equal(r.code, 0, `pulumi ${args.join(" ")} failed (exit ${r.code}):\n${r.output}`);
    return r;
}

/** `pulumi <args>` that must fail, with output matching every pattern. */
export async function cliFails(ws: PulumiWorkspace, args: string[], ...patterns: RegExp[]): Promise<CliResult> {
    const r = await cli(ws, args);
    assert.notEqual(r.code, 0, `pulumi ${args.join(" ")} should have failed:\n${r.output}`);
    for (const p of patterns) assert.match(r.output, p, `pulumi ${args.join(" ")}: output does not match ${p}:\n${r.output}`);
    return r;
}

// ---------------------------------------------------------------- reading the broker back

/** Every stream on the broker but the ownership registry every stack shares, sorted ($JS.API.STREAM.NAMES). */
export async function streamNames(nc: NatsConnection): Promise<string[]> {
    const names: string[] = [];
    for (;;) {
        const page = await jsApi<{ total: number; streams: string[] | null }>(nc, "$JS.API.STREAM.NAMES", { offset: names.length });
        names.push(...(page.streams ?? []));
        if (!page.streams?.length || names.length >= page.total) return names.filter((n) => n !== REGISTRY_STREAM).sort();
    }
}

export { type StreamInfo, streamInfo };

/** The stream's stored config without the server's `_nats.*` metadata; fails when it does not exist. */
export async function streamConfig(nc: NatsConnection, stream: string): Promise<Record<string, unknown>> {
    const info = await streamInfo(nc, stream);
    assert.ok(info, `stream ${stream} does not exist on the broker`);
    return withoutServerMetadata(info.config);
}

// ---------------------------------------------------------------- expectations (from the async-nats fixtures)

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;

/**
 * The read-back of the backend's own bootstrap (async-nats 0.49, production
 * caps) for this server line, without `_nats.*` metadata.
 */
export function goldenConfig(version: ServerVersion, stream: string): Record<string, unknown> {
    const dir = version.label === "2.9" ? "server-2.9-replay" : "server-2.12";
    return withoutServerMetadata(readJson(path.join(FIXTURES, dir, `${stream}.json`)));
}

/** A production cap scaled down: whole MiB, at least 1 MiB; uncapped (-1) stays uncapped. */
export function scaledCap(production: number, scale: number): number {
    if (production <= 0 || scale === 1) return production;
    return Math.max(MIB, Math.floor((production * scale) / MIB) * MIB);
}

/** What a fleet stream should look like on the broker after `up` with this sizeScale. */
export function expectedConfig(version: ServerVersion, stream: string, scale = Number(DEFAULT_SCALE)): Record<string, unknown> {
    const golden = goldenConfig(version, stream);
    return { ...golden, max_bytes: scaledCap(golden.max_bytes as number, scale) };
}

/**
 * The pre-cap broker (the backend's bootstrap before #506/#518: streams and
 * object stores uncapped), made with raw STREAM.CREATE requests of the
 * fixture configs, the 2.12-only keys left out on 2.9.
 */
export async function precapBroker(nc: NatsConnection, version: ServerVersion, streams: readonly string[] = FLEET_STREAMS): Promise<void> {
    for (const stream of streams) {
        const config = withoutServerMetadata(readJson(path.join(FIXTURES, "precap-server-2.12", `${stream}.json`)));
        if (version.label === "2.9") {
            for (const key of ["compression", "consumer_limits", "allow_msg_ttl", "metadata"]) delete config[key];
        }
        await jsApi(nc, `$JS.API.STREAM.CREATE.${stream}`, config);
    }
}
