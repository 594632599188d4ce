// The kanade fleet's JetStream resources, as data: one row per resource,
// transcribed from the backend's bootstrap (kanade_shared/bootstrap.rs,
// ../shared/seeds/). Read it against ensure_jetstream_resources line by line.
// Settings not listed are the async-nats defaults the bootstrap relies on.
//
// `revision` is the bootstrap revision that introduced a row: 1 is the older
// seed (000_*), 2 added group_contacts (001_*). A stack can pin the revision
// its backend runs (kanade-jetstream:fleetRevision).

export const LATEST_REVISION = 2;

export interface StreamRow {
    kind: "stream";
    name: string;
    subjects: string[];
    maxAge: string;
    maxBytes: string;
    maxMsgsPerSubject?: number;
    discard: "old";
    revision: number;
}

export interface KeyValueRow {
    kind: "keyValue";
    name: string;
    history: number;
    revision: number;
}

export interface ObjectStoreRow {
    kind: "objectStore";
    name: string;
    ttl?: string;
    maxBytes?: string;
    revision: number;
}

export type CatalogueRow = StreamRow | KeyValueRow | ObjectStoreRow;

const stream = (name: string, subject: string, maxAge: string, maxBytes: string, extra: Partial<StreamRow> = {}): StreamRow =>
    ({ kind: "stream", name, subjects: [subject], maxAge, maxBytes, discard: "old", revision: 1, ...extra });
const kv = (name: string, history: number, revision = 1): KeyValueRow => ({ kind: "keyValue", name, history, revision });
const store = (name: string, caps: { ttl?: string; maxBytes?: string } = {}): ObjectStoreRow => ({ kind: "objectStore", name, revision: 1, ...caps });

export const CATALOGUE: readonly CatalogueRow[] = [
    // Streams (#518: every one capped, discard old, on top of its age window).
    stream("INVENTORY", "inventory.>", "90d", "1GiB"),
    stream("RESULTS", "results.>", "30d", "2GiB"),
    stream("EXEC", "commands.>", "7d", "64MiB", { maxMsgsPerSubject: 1 }),
    stream("EVENTS", "events.>", "7d", "256MiB"),
    stream("AUDIT", "audit.>", "90d", "512MiB"),
    stream("OBS_EVENTS", "obs.>", "90d", "512MiB"),
    stream("NOTIFICATIONS", "notifications.>", "90d", "512MiB"),
    // KV buckets: history only.
    kv("script_current", 5),
    kv("script_status", 5),
    kv("agents_state", 1),
    kv("agent_config", 5),
    kv("agent_groups", 5),
    kv("group_contacts", 5, 2),
    kv("schedules", 5),
    kv("jobs", 5),
    kv("fleet_config", 1),
    kv("notifications_read", 1),
    kv("jobs_yaml", 5),
    kv("schedules_yaml", 5),
    // Object stores: three uncapped, two capped with a 30-day window.
    store("agent_releases"),
    store("app_packages"),
    store("scripts"),
    store("result_output", { ttl: "30d", maxBytes: "1GiB" }),
    store("collections", { ttl: "30d", maxBytes: "5GiB" }),
];

export function catalogueAt(revision: number): CatalogueRow[] {
    return CATALOGUE.filter((row) => row.revision <= revision);
}
