// The kanade fleet's JetStream resources, as data: one row per resource,
// transcribed from the backend's bootstrap (kanade_shared/bootstrap.rs,
// ../shared/seeds/). Read it against ensure_jetstream_resources line by line.
// Settings not listed are the async-nats defaults the bootstrap relies on.
//
// Revisions are the backend bootstrap's releases: 1 is the older seed (000_*),
// 2 added group_contacts (001_*). A row says the revision that introduced it
// (`revision`), and may say what a later revision changed (`changes`, keyed by
// revision) and the revision that removed it (`removedIn`). A stack pins the
// revision its backend runs (kanade-jetstream:fleetRevision); catalogueAt(n)
// is exactly the fleet of revision n. README, "Adding a fleet revision", says
// what else a new revision touches.

export const LATEST_REVISION = 2;

/** When a row exists and how later revisions changed it. */
interface History<Settings> {
    /** The revision that introduced the row. */
    revision: number;
    /** Settings a later revision changed, by that revision; each applies from it on. */
    changes?: Record<number, Partial<Settings>>;
    /** The revision that removed the row: absent from it on. */
    removedIn?: number;
}

interface StreamSettings {
    subjects: string[];
    maxAge: string;
    maxBytes: string;
    maxMsgsPerSubject?: number;
    discard: "old";
}

interface KeyValueSettings {
    history: number;
}

interface ObjectStoreSettings {
    ttl?: string;
    maxBytes?: string;
}

export interface StreamRow extends StreamSettings, History<StreamSettings> {
    kind: "stream";
    name: string;
}

export interface KeyValueRow extends KeyValueSettings, History<KeyValueSettings> {
    kind: "keyValue";
    name: string;
}

export interface ObjectStoreRow extends ObjectStoreSettings, History<ObjectStoreSettings> {
    kind: "objectStore";
    name: string;
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

/** The fleet of `revision`: the rows it has, each with the changes made up to it. */
export function catalogueAt(revision: number, catalogue: readonly CatalogueRow[] = CATALOGUE): CatalogueRow[] {
    return catalogue
        .filter((row) => row.revision <= revision && (row.removedIn === undefined || revision < row.removedIn))
        .map((row) => {
            const { changes, removedIn: _removed, ...base } = row;
            const applied = Object.entries(changes ?? {})
                .filter(([at]) => Number(at) <= revision)
                .sort(([a], [b]) => Number(a) - Number(b))
                .map(([, change]) => change);
            return Object.assign({}, base, ...applied) as CatalogueRow;
        });
}
