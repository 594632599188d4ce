// Preview-time fleet checks, run before the program declares any resource:
// names, subject overlaps, replicas against the cluster, the account's
// JetStream limits and the servers' storage. A failure here stops preview and
// up with nothing changed, instead of a 10065, 10027, 10113, 10074 or 10047
// halfway through `pulumi up`.
//
// What the broker tells a client, and where this reads it:
// - the account's limits, flat or per replica tier (R1, R3): $JS.API.INFO;
// - the cluster's size: the connected server's INFO, `cluster` and
//   `connect_urls` (the client URLs of every server the cluster announces);
// - each server's own store (jetstream max_file_store / max_memory_store):
//   only its monitoring endpoint (/jsz) or the system account
//   ($SYS.REQ.SERVER.PING.JSZ, which an application account reaches only
//   where the operator exports it), so without either that check is skipped
//   with a warning.
import * as pulumi from "@pulumi/pulumi";
import { type NatsConnection } from "nats";
import { type z } from "zod";
import { describeTarget } from "./apiPrefix.ts";
import { apiTarget, brokerConnection, closeConnections, connectionConfig, jsApi, resolveSettings, serverInfo } from "./connection.ts";
import { contentLost, optInHint, streamInfo } from "./guard.ts";
import { type KeyValueArgs, keyValueKind } from "./keyValue.ts";
import { type Kind, type ManagedInputs } from "./lifecycle.ts";
import { type ObjectStoreArgs, objectStoreKind } from "./objectStore.ts";
import { REGISTRY_BUCKET, REGISTRY_STREAM, registration } from "./ownership.ts";
import { type StreamConfig } from "./rules.ts";
import { propertyPath, subjectsOverlap } from "./schema.ts";
import { type StreamArgs, streamKind } from "./stream.ts";
import { type KindName, stackOwner } from "./resource.ts";
import { formatSize } from "./units.ts";

type Storage = "file" | "memory";
const STORAGES = ["file", "memory"] as const;

const replicasOf = (c: StreamConfig) => c.num_replicas || 1;
const storageOf = (c: StreamConfig) => c.storage ?? "file";
/** max_bytes, 0 when uncapped. */
const capOf = (c: StreamConfig) => Math.max(c.max_bytes ?? -1, 0);

const LABELS = { stream: streamKind.label, keyValue: keyValueKind.label, objectStore: objectStoreKind.label };

/**
 * How messages tell the user what to change: a program using the package
 * changes its resources' arguments; the kanade fleet names its stack config
 * keys (fleet/config.ts).
 */
export interface Advice {
    /** The declared resources as a whole, as a sentence's subject: "the fleet". */
    whole: string;
    /** Where to lower max_bytes. */
    caps: string;
    /** Where to lower replicas. */
    replicas: string;
    /** Where to give the servers' monitoring endpoints. */
    monitorUrls: string;
}

export const GENERIC_ADVICE: Advice = {
    whole: "the program's resources",
    caps: "their maxBytes",
    replicas: "their replicas",
    monitorUrls: "checkResources' monitorUrls",
};

/**
 * A resource a program declares, as the checks see it: its kind, its name on
 * the broker (stream or bucket) and the backing stream config it produces.
 */
export interface Declared {
    kind: KindName;
    name: string;
    config: StreamConfig;
}

/** A declared resource as the program names it: `KV bucket "agent_config"`. */
export const describeEntry = (e: Declared): string => `${LABELS[e.kind]} "${e.name}"`;

/** A stream on the broker, by the name a user knows it: `KV bucket "x" (stream KV_x)`, `stream "ARCHIVE"`. */
export function describeStream(stream: string): string {
    for (const [prefix, label] of [["KV_", keyValueKind.label], ["OBJ_", objectStoreKind.label]]) {
        if (stream.startsWith(prefix)) return `${label} "${stream.slice(prefix.length)}" (stream ${stream})`;
    }
    return `${streamKind.label} "${stream}"`;
}

/** A stream the run may create, named for messages. */
export interface Planned {
    label: string;
    config: StreamConfig;
}

const planned = (entries: Declared[]): Planned[] => entries.map((e) => ({ label: describeEntry(e), config: e.config }));
const REGISTRY_LABEL = `the ownership registry (KV bucket ${REGISTRY_BUCKET}, made by the first create)`;

/**
 * The streams `up` may create: the fleet's, and the ownership registry
 * (providers/ownership.ts) when the broker has none yet; the first create
 * makes it uncapped, with that resource's replicas.
 */
export function plannedStreams(entries: Declared[], onBroker: StreamConfig[]): Planned[] {
    if (!entries.length || onBroker.some((c) => c.name === REGISTRY_STREAM)) return planned(entries);
    return [...planned(entries), { label: REGISTRY_LABEL, config: { name: REGISTRY_STREAM, storage: "file", num_replicas: replicasOf(entries[0].config), max_bytes: -1 } }];
}

const names = (streams: (Declared | Planned)[]) => streams.map((x) => ("label" in x ? x.label : describeEntry(x))).join(", ");

export interface Reservation {
    name: string;
    storage: Storage;
    /** max_bytes x replicas: what the broker reserves across the cluster. */
    bytes: number;
    /** max_bytes: what one server hosting a replica reserves. */
    perServer: number;
}

export function reservations(streams: Planned[]): Reservation[] {
    return streams
        .filter((e) => capOf(e.config) > 0)
        .map((e) => ({
            name: e.label,
            storage: storageOf(e.config),
            bytes: capOf(e.config) * replicasOf(e.config),
            perServer: capOf(e.config),
        }));
}

export function totalReserved(entries: Declared[]): Record<Storage, number> {
    const total = { file: 0, memory: 0 };
    for (const r of reservations(planned(entries))) total[r.storage] += r.bytes;
    return total;
}

const subjectsOf = (c: StreamConfig) => c.subjects?.length ? c.subjects : c.mirror || c.sources?.length ? [] : [c.name];

function overlapping(a: StreamConfig, b: StreamConfig): [string, string][] {
    return subjectsOf(a).flatMap((x) => subjectsOf(b).filter((y) => subjectsOverlap(x, y)).map((y): [string, string] => [x, y]));
}

// ---------------------------------------------------------------- what the broker says

/** One set of JetStream account limits (-1: unlimited). */
export interface AccountLimits {
    max_memory: number;
    max_storage: number;
    max_streams: number;
    memory_max_stream_bytes?: number;
    storage_max_stream_bytes?: number;
    max_bytes_required?: boolean;
}

/** $JS.API.INFO: flat `limits`, or (account JWT tiered_limits) `tiers` keyed "R1", "R3", with zero flat limits. */
export interface AccountInfo {
    limits: AccountLimits;
    tiers?: Record<string, { limits: AccountLimits }>;
}

/** How many servers can host a replica; `size` undefined when the server does not say. */
export interface ClusterSize {
    /** Where the size comes from, for messages. */
    source: string;
    size?: number;
}

export interface BrokerView {
    /** Every stream of the account ($JS.API.STREAM.LIST). */
    streams: StreamConfig[];
    account: AccountInfo;
    cluster: ClusterSize;
    /** Streams on the broker that this stack manages (the ownership registry). */
    ownStreams: ReadonlySet<string>;
}

/** What a stack changes so that the plan works: Pulumi aliases, new resource name -> old. */
export type Renames = Map<string, string>;

export interface BrokerPlan {
    problems: string[];
    warnings: string[];
    /**
     * A fleet resource taking over the subjects of a stream this stack
     * manages and no longer declares (a rename): declared with an alias to
     * the old resource, Pulumi plans one replacement, deleting the old stream
     * before creating the new one. As two resources, it would create the new
     * one first, while the old still holds the subjects (10065), and delete
     * the old one only at the end.
     */
    renames: Renames;
}

/** The Pulumi resource name of one of this fleet's streams (resources are named as on the broker, buckets without prefix). */
const resourceNameOf = (stream: string) => stream.replace(/^(KV|OBJ)_/, "");
const kindOf = (stream: string): KindName => (stream.startsWith("KV_") ? "keyValue" : stream.startsWith("OBJ_") ? "objectStore" : "stream");

/** Names and subjects within the fleet and against the other streams on the broker. */
export function subjectPlan(entries: Declared[], broker: Pick<BrokerView, "streams" | "ownStreams">): Pick<BrokerPlan, "problems" | "renames"> & {
    /** The renamed streams, which the replacements delete before creating their successors. */
    replaced: Set<string>;
} {
    const problems: string[] = [];
    const renames: Renames = new Map();
    const replaced = new Set<string>();
    const seen = new Map<string, Declared>();
    for (const e of entries) {
        const clash = seen.get(e.config.name);
        if (clash) problems.push(`${describeEntry(e)} and ${describeEntry(clash)} both use the stream name ${e.config.name}`);
        seen.set(e.config.name, e);
    }
    for (let i = 0; i < entries.length; i++) {
        for (const other of entries.slice(i + 1)) {
            for (const [a, b] of overlapping(entries[i].config, other.config)) {
                problems.push(`subjects overlap: ${describeEntry(entries[i])} "${a}" and ${describeEntry(other)} "${b}"`);
            }
        }
    }
    for (const old of broker.streams.filter((c) => !seen.has(c.name))) {
        const takers = entries.filter((e) => overlapping(e.config, old).length);
        if (!takers.length) continue;
        if (!broker.ownStreams.has(old.name)) {
            for (const e of takers) {
                for (const [a, b] of overlapping(e.config, old)) {
                    problems.push(`subjects overlap: ${describeEntry(e)} "${a}" and ${describeStream(old.name)} (on the broker, not declared here) "${b}"; ` +
                        "the broker would refuse this program's stream (10065). Change or remove the other stream, it is not this stack's");
                }
            }
            continue;
        }
        // This stack's own stream, which this run deletes: a rename when one resource of the same kind takes its subjects.
        const [taker] = takers;
        if (takers.length === 1 && taker.kind === kindOf(old.name) && !renames.has(taker.name)) {
            renames.set(taker.name, resourceNameOf(old.name));
            replaced.add(old.name);
            continue;
        }
        problems.push(`${names(takers)} take subjects of ${describeStream(old.name)}, which this stack manages and no longer declares; ` +
            "Pulumi would create the new streams before deleting it, and the broker would refuse them (10065). " +
            `Remove it first (pulumi destroy --target <its URN>, see pulumi stack --show-urns), then run this again`);
    }
    return { problems, renames, replaced };
}

/** replicas beyond the servers that can host them (10074 on a single server, 10005 in a cluster). */
export function replicaProblems(entries: Declared[], broker: Pick<BrokerView, "streams" | "cluster">, advice = GENERIC_ADVICE): Pick<BrokerPlan, "problems" | "warnings"> {
    const existing = new Map(broker.streams.map((c) => [c.name, replicasOf(c)]));
    // A stream already placed with these replicas keeps its peers; only new placements need servers.
    const placing = entries.filter((e) => replicasOf(e.config) > 1 && (existing.get(e.config.name) ?? 0) < replicasOf(e.config));
    const { size, source } = broker.cluster;
    if (!placing.length) return { problems: [], warnings: [] };
    if (size === undefined) {
        return { problems: [], warnings: [`cannot check replicas against the cluster's size: ${source}; ${names(placing)} need more than one server`] };
    }
    const problems: string[] = [];
    for (const replicas of [...new Set(placing.map((e) => replicasOf(e.config)))].sort((a, b) => a - b)) {
        if (replicas <= size) continue;
        const these = placing.filter((e) => replicasOf(e.config) === replicas);
        problems.push(`replicas ${replicas} needs ${replicas} servers, but ${source}: ${names(these)}. ` +
            `The broker would refuse them (${size === 1 ? "10074" : "10005"}). Set ${advice.replicas} to at most ${size}` +
            (size === 1 ? ", or run a JetStream cluster" : ", or add servers to the cluster"));
    }
    return { problems, warnings: [] };
}

function doesNotFit(storage: Storage, need: number, where: string, limit: number, taken: number, fleet: Reservation[], unit: string, advice: Advice): string {
    const biggest = fleet
        .filter((r) => r.storage === storage)
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 5)
        .map((r) => `${r.name} ${formatSize(r.bytes)}`)
        .join(", ");
    return `${advice.whole} reserve${advice.whole === GENERIC_ADVICE.whole ? "" : "s"} ${formatSize(need)} of ${storage} storage (${unit}) but ${where} allows ${formatSize(limit)}` +
        `${taken ? `, ${formatSize(taken)} of it already reserved by other streams` : ""}; the broker would refuse with ${storage === "file" ? "10047" : "10028"}. ` +
        `Biggest reservations: ${biggest}. Lower the caps (${advice.caps}) or give the broker more storage`;
}

/**
 * The account's limits ($JS.API.INFO), as the server applies them on create
 * (jetstream.go selectLimits, checkBytesLimits; stream.go checkStreamCfg):
 * flat limits count every stream and max_bytes x replicas; tiered limits
 * (R1, R3, ...) count the streams of their replica count and max_bytes once.
 * Streams the run creates count on top of every stream already there
 * (`broker.streams`): Pulumi deletes this stack's old ones only at the end
 * of the run, except a renamed one, which its replacement deletes first.
 */
export function accountProblems(creates: Planned[], broker: Pick<BrokerView, "streams" | "account">, advice = GENERIC_ADVICE): string[] {
    const problems: string[] = [];
    const tiers = broker.account.tiers && Object.keys(broker.account.tiers).length ? broker.account.tiers : undefined;
    const tierOf = (c: StreamConfig) => (tiers ? `R${replicasOf(c)}` : "");
    const onBroker = new Set(broker.streams.map((c) => c.name));
    for (const tier of [...new Set(creates.map((e) => tierOf(e.config)))].sort()) {
        const group = creates.filter((e) => tierOf(e.config) === tier);
        const limits = tiers ? tiers[tier]?.limits : broker.account.limits;
        const whose = tier ? `the account's ${tier} tier (streams with replicas ${tier.slice(1)})` : "the account";
        if (!limits) {
            problems.push(`the account has JetStream limits only for ${Object.keys(tiers!).sort().join(", ")}, none for ${tier}: ${names(group)}; ` +
                `the broker would refuse them (10120). Change their replicas to a tier the account has, or give the account ${tier} limits`);
            continue;
        }
        const others = broker.streams.filter((c) => tierOf(c) === tier && !group.some((e) => e.config.name === c.name));
        const creating = group.filter((e) => !onBroker.has(e.config.name));
        const present = broker.streams.filter((c) => tierOf(c) === tier).length;
        // The server counts max_streams only when > 0 (jsStreamCreateRequest, jsClusteredStreamLimitsCheck).
        if (limits.max_streams > 0 && present + creating.length > limits.max_streams) {
            problems.push(`${whose} allows ${limits.max_streams} streams (max_streams); ${present} are on the broker and this run would create ${creating.length} more ` +
                `(${names(creating)}); the broker would refuse the creates past the limit (10027 "maximum number of streams reached"). ` +
                "Raise the account's max_streams, or remove streams this stack does not need");
        }
        const uncapped = group.filter((e) => capOf(e.config) === 0);
        if (limits.max_bytes_required && uncapped.length) {
            problems.push(`${whose} requires every stream to set max_bytes (max_bytes_required), but ${names(uncapped)} set none; ` +
                `the broker would refuse them (10113). Give each a cap (${advice.caps})` +
                (uncapped.some((e) => e.label === REGISTRY_LABEL)
                    ? `; the registry you create beforehand, capped: nats kv add ${REGISTRY_BUCKET} --history 1 --max-bucket-size 1MiB`
                    : ""));
        }
        for (const storage of STORAGES) {
            const ofStorage = group.filter((e) => storageOf(e.config) === storage);
            if (!ofStorage.length) continue;
            const perStream = (storage === "file" ? limits.storage_max_stream_bytes : limits.memory_max_stream_bytes) ?? -1;
            const tooBig = ofStorage.filter((e) => perStream > 0 && capOf(e.config) > perStream);
            if (tooBig.length) {
                problems.push(`${whose} allows at most ${formatSize(perStream)} per ${storage} stream (${storage === "file" ? "storage" : "memory"}_max_stream_bytes), ` +
                    `but ${tooBig.map((e) => `${e.label} sets ${formatSize(capOf(e.config))}`).join(", ")}; the broker would refuse them (10122). ` +
                    `Lower their caps (${advice.caps}) to at most ${formatSize(perStream)}`);
            }
            const limit = storage === "file" ? limits.max_storage : limits.max_memory;
            if (limit < 0) continue;
            // Flat limits count every replica; a tier's limit already is per replica count.
            const reserve = (c: StreamConfig) => capOf(c) * (tier ? 1 : replicasOf(c));
            const need = ofStorage.reduce((s, e) => s + reserve(e.config), 0);
            const taken = others.filter((c) => storageOf(c) === storage).reduce((s, c) => s + reserve(c), 0);
            if (taken + need > limit) {
                const unit = tier ? "max_bytes, once per stream in a tier" : "max_bytes x replicas";
                const listed = reservations(ofStorage).map((r) => (tier ? { ...r, bytes: r.perServer } : r));
                problems.push(doesNotFit(storage, need, `${whose}'s JetStream limit`, limit, taken, listed, unit, advice));
            }
        }
    }
    return problems;
}

// ---------------------------------------------------------------- reading the broker

interface StreamList {
    total: number;
    streams: { config: StreamConfig }[] | null;
}

async function brokerStreams(nc: NatsConnection): Promise<StreamConfig[]> {
    const out: StreamConfig[] = [];
    for (;;) {
        const page = await jsApi<StreamList>(nc, "STREAM.LIST", { offset: out.length });
        out.push(...(page.streams ?? []).map((s) => s.config));
        if (!page.streams?.length || out.length >= page.total) return out;
    }
}

/** The cluster's size from the connected server's INFO: `connect_urls` lists every server the cluster announces to clients. */
function clusterSize(nc: NatsConnection): ClusterSize {
    // The connected servers announce their own cluster, not that of another domain's or account's JetStream.
    const target = apiTarget(nc);
    if (target) return { source: `the servers of the ${describeTarget(target)} are not announced to clients` };
    const info = serverInfo(nc);
    const at = `nats-server ${info.version} at ${nc.getServer()}`;
    if (!info.cluster) return { size: 1, source: `${at} runs alone (not in a cluster)` };
    const urls = info.connect_urls ?? [];
    if (!urls.length) {
        return { source: `cluster "${info.cluster}" announces no servers to clients (cluster no_advertise), so its size is unknown` };
    }
    return { size: urls.length, source: `cluster "${info.cluster}" has ${urls.length} servers up (as ${at} announces them: ${urls.join(", ")})` };
}

/** Which of these streams the ownership registry (providers/ownership.ts) gives to `owner`; no registry is no owner. */
async function ownedBy(nc: NatsConnection, owner: string, streams: string[]): Promise<Set<string>> {
    const owners = await Promise.all(streams.map(async (stream) => [stream, (await registration(nc, stream)).owner] as const));
    return new Set(owners.filter(([, o]) => o === owner).map(([stream]) => stream));
}

interface Jsz {
    config?: { max_storage: number; max_memory: number };
    reserved_storage?: number;
    reserved_memory?: number;
}

/**
 * GET of a small JSON document; node:http rather than fetch, whose first use
 * costs every preview ~100 ms of loading undici. Taken with getBuiltinModule,
 * not imported: an ES import of node:http reads every export, and its lazy
 * WebSocket loads undici all the same (35 ms of the program's start-up).
 */
function getJson<T>(endpoint: string, timeoutMs: number): Promise<T> {
    const get = endpoint.startsWith("https:") ? process.getBuiltinModule("node:https").get : process.getBuiltinModule("node:http").get;
    return new Promise((resolve, reject) => {
        const req = get(endpoint, { timeout: timeoutMs }, (res) => {
            if (res.statusCode !== 200) {
                res.resume();
                return reject(new Error(`HTTP ${res.statusCode}`));
            }
            let body = "";
            res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk)).on("end", () => {
                try {
                    resolve(JSON.parse(body) as T);
                } catch (err) {
                    reject(err);
                }
            });
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000}s`))).on("error", reject);
    });
}

async function fetchJsz(url: string, advice: Advice): Promise<Jsz> {
    const endpoint = `${url.replace(/\/+$/, "")}/jsz`;
    try {
        return await getJson<Jsz>(endpoint, 5000);
    } catch (err) {
        throw new Error(`cannot read the server's storage from ${endpoint} (${advice.monitorUrls}): ${(err as Error).message}`);
    }
}

/**
 * Each server's own store, from its /jsz: a server hosting a replica
 * reserves max_bytes once, and any server may host any stream. An endpoint
 * that does not answer is skipped with a warning (a cluster node that is
 * down hosts no new replicas); only when none answers does the check fail.
 */
/** The system account's JSZ service, which an operator may export to the account the program uses. */
const SYS_JSZ = "$SYS.REQ.SERVER.PING.JSZ";

/**
 * Each server's /jsz through the system account's service, where the account
 * imports it: one answer per server within a second. Empty when it does not
 * (no responders), which is the default.
 */
async function systemJsz(nc: NatsConnection): Promise<{ where: string; jsz: Jsz }[]> {
    const out: { where: string; jsz: Jsz }[] = [];
    try {
        for await (const m of await nc.requestMany(SYS_JSZ, "", { maxWait: 1000 })) {
            const answer = JSON.parse(new TextDecoder().decode(m.data)) as { server?: { name?: string }; data?: Jsz };
            if (answer.data) out.push({ where: `the server ${answer.server?.name ?? "?"} (${SYS_JSZ})`, jsz: answer.data });
        }
    } catch {
        /* no responders: not permitted */
    }
    return out;
}

async function serverStorage(nc: NatsConnection, entries: Declared[], broker: BrokerView, monitorUrls: string[], plan: BrokerPlan, advice: Advice): Promise<void> {
    const fleet = reservations(planned(entries));
    if (!fleet.length) return;
    let answers: ({ where: string; jsz: Jsz } | { where: string; err: Error })[];
    if (monitorUrls.length) {
        answers = await Promise.all(monitorUrls.map((url) => fetchJsz(url, advice).then((jsz) => ({ where: `the server at ${url}`, jsz }), (err: Error) => ({ where: url, err }))));
    } else {
        // The system account answers for the servers it reaches, not for those of another domain's or account's JetStream.
        answers = apiTarget(nc) ? [] : await systemJsz(nc);
        if (!answers.length) {
            const total = totalReserved(entries);
            plan.warnings.push(`cannot check that each server's JetStream store can hold the reservation of ${advice.whole} ` +
                `(${STORAGES.filter((s) => total[s]).map((s) => `${formatSize(total[s])} ${s}`).join(", ")}): nats-server reports its max_file_store and ` +
                `max_memory_store only on its monitoring endpoint (/jsz) or to the system account. Set ${advice.monitorUrls} to every server's ` +
                `monitoring URL (e.g. http://<host>:8222), or export the system account's ${SYS_JSZ} service to this account, so that preview ` +
                "checks it; without either, a server too small fails `pulumi up` with 10047 partway");
            return;
        }
    }
    const fleetStreams = new Set(entries.map((e) => e.config.name));
    const existingFleet = broker.streams.filter((c) => fleetStreams.has(c.name));
    const failed = answers.filter((a) => "err" in a);
    if (failed.length === answers.length) throw failed[0].err;
    for (const a of failed) plan.warnings.push(`${a.err.message}; skipping that server's storage check`);
    for (const a of answers) {
        if (!("jsz" in a)) continue;
        const { where, jsz } = a;
        for (const storage of STORAGES) {
            const need = fleet.filter((r) => r.storage === storage).reduce((s, r) => s + r.perServer, 0);
            const limit = storage === "file" ? jsz.config?.max_storage : jsz.config?.max_memory;
            if (!need || !limit || limit <= 0) continue;
            const reserved = (storage === "file" ? jsz.reserved_storage : jsz.reserved_memory) ?? 0;
            const ours = existingFleet.filter((c) => storageOf(c) === storage).reduce((s, c) => s + capOf(c), 0);
            const taken = Math.max(reserved - ours, 0);
            if (taken + need > limit) {
                plan.problems.push(doesNotFit(storage, need, `${where} (max_${storage}_store)`, limit, taken, fleet, "max_bytes, once per server hosting a replica", advice));
            }
        }
    }
}

export interface CheckOptions {
    /** The monitoring endpoints of the broker's servers (http://host:8222), for their own stores. */
    monitorUrls: string[];
    /** This stack in the ownership registry's form, "<org>/<project>/<stack>". */
    owner: string;
    /** Whether the stack config opts in to losing this resource's data (overrides.<name>.allowDataLoss, else allowDataLoss). */
    allowsDataLoss: (name: string) => boolean;
    advice?: Advice;
}

/**
 * Streams this stack manages that the fleet no longer declares: `up`
 * deletes them. One that holds messages or consumers needs the opt-in in
 * the stack config, refused here so preview says so (the provider's delete
 * refuses it again, but only once `up` is under way).
 */
async function removalProblems(nc: NatsConnection, removed: ReadonlySet<string>, allowsDataLoss: CheckOptions["allowsDataLoss"]): Promise<string[]> {
    const problems: string[] = [];
    for (const stream of removed) {
        const name = resourceNameOf(stream);
        if (allowsDataLoss(name)) continue;
        const info = await streamInfo(nc, stream);
        const lost = info && contentLost(info.state);
        if (lost) problems.push(`${describeStream(stream)} is no longer declared, so up would delete it, and it holds ${lost}. ${optInHint(name)}`);
    }
    return problems;
}

/** Every problem that would make `pulumi up` fail halfway, what could not be checked, and the renames to alias. */
export async function checkAgainstBroker(nc: NatsConnection, entries: Declared[], opts: CheckOptions): Promise<BrokerPlan> {
    const streams = await brokerStreams(nc);
    const declared = new Set(entries.map((e) => e.config.name));
    // Ownership matters for the streams the fleet no longer declares: the
    // ones this stack manages are renamed (their subjects taken) or deleted.
    const undeclared = streams.filter((c) => !declared.has(c.name) && c.name !== REGISTRY_STREAM).map((c) => c.name);
    const broker: BrokerView = {
        streams,
        account: await jsApi<AccountInfo>(nc, "INFO"),
        cluster: clusterSize(nc),
        ownStreams: await ownedBy(nc, opts.owner, undeclared),
    };
    const subjects = subjectPlan(entries, broker);
    const advice = opts.advice ?? GENERIC_ADVICE;
    const replicas = replicaProblems(entries, broker, advice);
    const plan: BrokerPlan = {
        problems: [
            ...subjects.problems,
            ...replicas.problems,
            ...accountProblems(plannedStreams(entries, streams), { ...broker, streams: streams.filter((c) => !subjects.replaced.has(c.name)) }, advice),
            ...await removalProblems(nc, new Set([...broker.ownStreams].filter((s) => !subjects.replaced.has(s))), opts.allowsDataLoss),
        ],
        warnings: replicas.warnings,
        renames: subjects.renames,
    };
    await serverStorage(nc, entries, broker, opts.monitorUrls, plan, advice);
    return plan;
}

// ---------------------------------------------------------------- for programs

/** A resource as a program declares it, for checkResources: its kind and its arguments (known values). */
export type ResourceSpec =
    | { kind: "stream"; args: StreamArgs }
    | { kind: "keyValue"; args: KeyValueArgs }
    | { kind: "objectStore"; args: ObjectStoreArgs };

const KINDS = { stream: streamKind, keyValue: keyValueKind, objectStore: objectStoreKind } as const;

/**
 * The resource as the checks see it: its name on the broker and the backing
 * stream config its provider would write. Arguments its provider's check
 * would refuse are an error naming the resource and the property.
 */
export function declared(spec: ResourceSpec): Declared {
    const kind = KINDS[spec.kind] as Kind<z.ZodType<ManagedInputs>>;
    const parsed = kind.schema.safeParse(spec.args);
    if (!parsed.success) {
        const name = (spec.args as { name?: string; bucket?: string }).name ?? (spec.args as { bucket?: string }).bucket ?? "?";
        throw new Error(`${kind.label} "${name}": ${parsed.error.issues.map((i) => `${propertyPath(i.path)} ${i.message}`).join("; ")}`);
    }
    return { kind: spec.kind, name: kind.nameOf(parsed.data), config: kind.toStreamConfig(parsed.data) };
}

export interface CheckResourcesOptions {
    /** The servers' monitoring endpoints (http://host:8222), so their own stores can be checked. */
    monitorUrls?: string[];
    /** Whether the stack opts in to losing the data of a resource it no longer declares (by broker name). */
    allowsDataLoss?: (name: string) => boolean;
    advice?: Advice;
}

/**
 * Every preview-time check, over the resources a program is about to
 * declare, against the broker its providers use (NATS_URL and the NATS_*
 * variables, or stack config under jetstream: or the project's namespace):
 * subjects, account limits, replicas, storage, and what this stack would
 * delete. Call it, and await it, before declaring them: on a problem it
 * throws a RunError listing every one, so preview and up stop with nothing
 * changed. What cannot be checked is logged as a warning. Returns the
 * renames it found (broker names, new -> old): streams this stack manages
 * and no longer declares whose subjects one declared resource takes; alias
 * those resources to their old Pulumi names so Pulumi plans one replacement.
 */
export async function checkResources(specs: (ResourceSpec | (ResourceSpec & Declared))[], opts: CheckResourcesOptions = {}): Promise<Renames> {
    try {
        // Resources a program already declared (the fleet's entries) are not parsed again.
        const resources = specs.map((spec) => ("config" in spec ? spec : declared(spec)));
        const raw = pulumi.runtime.allConfig();
        const { get, namespace } = connectionConfig((key) => raw[key], pulumi.getProject());
        const nc = await brokerConnection(resolveSettings(get, process.env, namespace));
        const plan = await checkAgainstBroker(nc, resources, {
            monitorUrls: opts.monitorUrls ?? [],
            owner: stackOwner(),
            allowsDataLoss: opts.allowsDataLoss ?? (() => false),
            advice: opts.advice,
        });
        for (const warning of plan.warnings) pulumi.log.warn(warning);
        if (plan.problems.length) {
            throw new Error(`${(opts.advice ?? GENERIC_ADVICE).whole} cannot be applied to this broker; nothing was changed:\n  - ${plan.problems.join("\n  - ")}`);
        }
        return plan.renames;
    } catch (err) {
        throw new pulumi.RunError((err as Error).message);
    } finally {
        // The program's own connection; the providers keep theirs.
        await closeConnections();
    }
}
