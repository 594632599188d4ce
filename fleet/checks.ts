// Preview-time fleet checks, run before the program declares any resource:
// names, subject overlaps and whether the broker can reserve the fleet's
// storage. A failure here stops preview and up with nothing changed, instead
// of a 10065 or 10047 halfway through `pulumi up`.
import { type NatsConnection } from "nats";
import { jsApi } from "../providers/connection.ts";
import { type StreamConfig } from "../providers/rules.ts";
import { formatSize } from "../providers/units.ts";
import { type FleetEntry } from "./fleet.ts";

type Storage = "file" | "memory";

export interface Reservation {
    name: string;
    stream: string;
    storage: Storage;
    /** max_bytes x replicas: what the broker reserves across the cluster. */
    bytes: number;
    /** max_bytes: what one server hosting a replica reserves. */
    perServer: number;
}

export function reservations(entries: FleetEntry[]): Reservation[] {
    return entries
        .filter((e) => (e.config.max_bytes ?? -1) > 0)
        .map((e) => ({
            name: e.row.name,
            stream: e.config.name,
            storage: e.config.storage ?? "file",
            bytes: e.config.max_bytes! * (e.config.num_replicas ?? 1),
            perServer: e.config.max_bytes!,
        }));
}

export function totalReserved(entries: FleetEntry[]): Record<Storage, number> {
    const total = { file: 0, memory: 0 };
    for (const r of reservations(entries)) total[r.storage] += r.bytes;
    return total;
}

/** Two subject patterns overlap when some subject matches both. */
export function subjectsOverlap(a: string, b: string): boolean {
    const x = a.split(".");
    const y = b.split(".");
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
        if (x[i] === ">" || y[i] === ">") return x[i] !== undefined && y[i] !== undefined;
        if (x[i] === undefined || y[i] === undefined) return false;
        if (x[i] !== "*" && y[i] !== "*" && x[i] !== y[i]) return false;
    }
    return true;
}

const subjectsOf = (c: StreamConfig) => c.subjects?.length ? c.subjects : c.mirror || c.sources?.length ? [] : [c.name];

/** Problems with names and subjects within the fleet, and against other streams on the broker. */
export function nameAndSubjectProblems(entries: FleetEntry[], others: StreamConfig[] = []): string[] {
    const problems: string[] = [];
    const seen = new Map<string, string>();
    for (const e of entries) {
        const clash = seen.get(e.config.name);
        if (clash) problems.push(`${e.row.name} and ${clash} both use the stream name ${e.config.name}`);
        seen.set(e.config.name, e.row.name);
    }
    const all = [
        ...entries.map((e) => ({ label: e.row.name, config: e.config })),
        ...others.map((c) => ({ label: `${c.name} (on the broker, not in this fleet)`, config: c })),
    ];
    for (let i = 0; i < entries.length; i++) {
        for (let j = i + 1; j < all.length; j++) {
            for (const a of subjectsOf(all[i].config)) {
                for (const b of subjectsOf(all[j].config)) {
                    if (subjectsOverlap(a, b)) problems.push(`subjects overlap: ${all[i].label} "${a}" and ${all[j].label} "${b}"`);
                }
            }
        }
    }
    return problems;
}

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

interface AccountInfo {
    limits: { max_storage: number; max_memory: number };
}

interface Jsz {
    config?: { max_storage: number; max_memory: number };
    reserved_storage?: number;
    reserved_memory?: number;
}

const reserveOf = (c: StreamConfig) => Math.max(c.max_bytes ?? -1, 0);

function doesNotFit(storage: Storage, need: number, where: string, limit: number, taken: number, fleet: Reservation[]): string {
    const biggest = fleet
        .filter((r) => r.storage === storage)
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 5)
        .map((r) => `${r.name} ${formatSize(r.bytes)}`)
        .join(", ");
    return `the fleet reserves ${formatSize(need)} of ${storage} storage (max_bytes x replicas) but ${where} allows ${formatSize(limit)}` +
        `${taken ? `, ${formatSize(taken)} of it already reserved by other streams` : ""}; the broker would refuse with 10047/10028. ` +
        `Biggest reservations: ${biggest}. Lower the caps (kanade-jetstream:sizeScale, kanade-jetstream:overrides.<name>.maxBytes) or give the broker more storage`;
}

/**
 * Every problem that would make `pulumi up` fail halfway: overlaps (10065)
 * and storage reservations that do not fit the account's limits or, with
 * monitoring URLs, each server's own store (10047). A monitoring endpoint
 * that does not answer is skipped with a warning (a cluster node that is down
 * hosts no new replicas, and the rest of the cluster still serves the plan);
 * only when none answers does the check fail.
 */
export async function fleetProblems(
    nc: NatsConnection,
    entries: FleetEntry[],
    monitorUrls: string[],
    warn: (message: string) => void = () => undefined,
): Promise<string[]> {
    const fleetStreams = new Set(entries.map((e) => e.config.name));
    const onBroker = await brokerStreams(nc);
    const others = onBroker.filter((c) => !fleetStreams.has(c.name));
    const problems = nameAndSubjectProblems(entries, others);

    const fleet = reservations(entries);
    const account = await jsApi<AccountInfo>(nc, "INFO");
    for (const storage of ["file", "memory"] as const) {
        const need = fleet.filter((r) => r.storage === storage).reduce((s, r) => s + r.bytes, 0);
        if (!need) continue;
        const taken = others.filter((c) => (c.storage ?? "file") === storage).reduce((s, c) => s + reserveOf(c) * (c.num_replicas ?? 1), 0);
        const limit = storage === "file" ? account.limits.max_storage : account.limits.max_memory;
        if (limit > 0 && taken + need > limit) problems.push(doesNotFit(storage, need, "the account's JetStream limit", limit, taken, fleet));
    }

    // A server hosting a replica reserves max_bytes once; assume any server may host any stream.
    const existingFleet = onBroker.filter((c) => fleetStreams.has(c.name));
    const answers = await Promise.all(monitorUrls.map((url) => fetchJsz(url).then((jsz) => ({ url, jsz }), (err: Error) => ({ url, err }))));
    const failed = answers.filter((a) => "err" in a);
    if (failed.length && failed.length === answers.length) throw failed[0].err;
    for (const a of failed) warn(`${a.err.message}; skipping that server's storage check`);
    for (const a of answers) {
        if (!("jsz" in a)) continue;
        const { url, jsz } = a;
        for (const storage of ["file", "memory"] as const) {
            const need = fleet.filter((r) => r.storage === storage).reduce((s, r) => s + r.perServer, 0);
            const limit = storage === "file" ? jsz.config?.max_storage : jsz.config?.max_memory;
            if (!need || !limit || limit <= 0) continue;
            const reserved = (storage === "file" ? jsz.reserved_storage : jsz.reserved_memory) ?? 0;
            const ours = existingFleet.filter((c) => (c.storage ?? "file") === storage).reduce((s, c) => s + reserveOf(c), 0);
            const taken = Math.max(reserved - ours, 0);
            if (taken + need > limit) problems.push(doesNotFit(storage, need, `the server at ${url} (max_${storage === "file" ? "file" : "memory"}_store)`, limit, taken, fleet));
        }
    }
    return problems;
}

async function fetchJsz(url: string): Promise<Jsz> {
    const endpoint = `${url.replace(/\/+$/, "")}/jsz`;
    try {
        const res = await fetch(endpoint, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return (await res.json()) as Jsz;
    } catch (err) {
        throw new Error(`cannot read the server's storage from ${endpoint} (kanade-jetstream:monitorUrls): ${(err as Error).message}`);
    }
}
