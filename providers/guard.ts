// The data-loss judgement, in one place: given a stream as the broker holds
// it now (STREAM.INFO) and what a step would do to it, what would be lost.
// lifecycle.ts asks in preview (check, diff) and again right before acting
// (create, update, delete): the broker may have changed in between.
//
// What the servers do with a lowered limit (probed on 2.9.10 and 2.12.15):
// max_age, and max_msgs / max_bytes on a discard-old stream, drop the oldest
// messages at the update; max_msgs_per_subject is enforced at the update on
// 2.12 and at the subject's next write on 2.9; 2.12 keeps a discard-new
// stream's excess over max_msgs / max_bytes (and refuses writes until it is
// below), 2.9 drops it. All of these count as a loss: which server line runs
// the stream can change, and a limit is a promise to drop what exceeds it.
import { type NatsConnection } from "nats";
import { jsApi } from "./connection.ts";
import { ERR, JetStreamError } from "./errors.ts";
import { effective, isUnset } from "./plan.ts";
import { type Field, MANAGED_FIELDS, type StreamConfig } from "./rules.ts";
import { formatDuration, formatSize } from "./units.ts";

/** The parts of STREAM.INFO's state the judgement reads. */
export interface StreamState {
    messages: number;
    bytes: number;
    /** The oldest message's time; "0001-01-01T00:00:00Z" when empty. */
    first_ts?: string;
    /** Consumers on the stream: durable ones are state that a delete loses too. */
    consumer_count?: number;
    /** The last message's sequence: a stream made anew counts from 1 (or its first_seq) again. */
    last_seq?: number;
}

export interface StreamInfo {
    config: StreamConfig;
    state: StreamState;
}

/** The stream as the broker holds it now, or undefined when it does not exist. */
export async function streamInfo(nc: NatsConnection, stream: string): Promise<StreamInfo | undefined> {
    try {
        return await jsApi<StreamInfo>(nc, `STREAM.INFO.${stream}`);
    } catch (err) {
        if (err instanceof JetStreamError && err.errCode === ERR.streamNotFound) return undefined;
        throw err;
    }
}

/** Messages per subject, fetched only when a per-subject limit is lowered (it can be a long list). */
export type SubjectCounts = () => Promise<number[]>;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A byte count for people: "3.7MiB". */
function bytesText(n: number): string {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    let v = n;
    while (v >= 1024 && i < units.length - 1) {
        v /= 1024;
        i++;
    }
    return i === 0 ? `${n}B` : `${v.toFixed(1).replace(/\.0$/, "")}${units[i]}`;
}

/**
 * What deleting (or replacing) the stream would lose: its messages and its
 * consumers; undefined when it holds neither.
 */
export function contentLost(state: StreamState): string | undefined {
    const parts: string[] = [];
    if (state.messages > 0) parts.push(`${plural(state.messages, "message")} (${state.bytes} bytes)`);
    if ((state.consumer_count ?? 0) > 0) parts.push(plural(state.consumer_count!, "consumer"));
    return parts.length ? parts.join(" and ") : undefined;
}

type Limit = "max_msgs" | "max_bytes" | "max_age" | "max_msgs_per_subject";
const LIMITS: readonly Limit[] = ["max_msgs", "max_bytes", "max_age", "max_msgs_per_subject"];

/**
 * What applying `desired` to the stream would drop, one line per limit that
 * changes to below what the stream holds, each naming the input
 * (`inputOf`). Empty when nothing would be lost.
 */
export async function limitLosses(
    info: StreamInfo,
    desired: StreamConfig,
    inputOf: (field: Field) => string,
    subjectCounts: SubjectCounts,
    now = Date.now(),
): Promise<string[]> {
    const { state } = info;
    if (state.messages === 0) return [];
    const want = effective(desired);
    const have = effective(info.config);
    const out: string[] = [];
    for (const field of LIMITS) {
        const to = want[field] as number | undefined;
        // Unlimited (-1, 0 for max_age) or unchanged: nothing newly enforced.
        if (to === undefined || to <= 0 || to === have[field]) continue;
        const setting = `${inputOf(field)} ${field === "max_bytes" ? formatSize(to) : field === "max_age" ? formatDuration(to) : to}`;
        switch (field) {
            case "max_msgs":
                if (state.messages > to) out.push(`${setting}: it holds ${plural(state.messages, "message")}, the oldest ${state.messages - to} would be dropped`);
                break;
            case "max_bytes":
                if (state.bytes > to) {
                    // The server drops whole messages, oldest first, until the rest fits: estimated from the average size.
                    const dropped = Math.min(state.messages, Math.ceil((state.bytes - to) / (state.bytes / state.messages)));
                    out.push(`${setting}: it holds ${bytesText(state.bytes)} in ${plural(state.messages, "message")}, ` +
                        `about ${dropped} of the oldest would be dropped`);
                }
                break;
            case "max_age": {
                const oldest = Date.parse(state.first_ts ?? "");
                const ageNs = (now - oldest) * 1e6;
                if (Number.isFinite(oldest) && ageNs > to) {
                    out.push(`${setting}: its oldest message is ${formatDuration(Math.max(1, Math.floor(ageNs / 1e9)) * 1e9)} old ` +
                        `(from ${state.first_ts}); of its ${plural(state.messages, "message")}, every one older than ${formatDuration(to)} would be dropped`);
                }
                break;
            }
            case "max_msgs_per_subject": {
                if (state.messages <= to) break;
                const over = (await subjectCounts()).filter((n) => n > to);
                if (over.length) {
                    const dropped = over.reduce((sum, n) => sum + n - to, 0);
                    out.push(`${setting}: ${plural(over.length, "subject")} (key${over.length === 1 ? "" : "s"}) hold more, up to ${Math.max(...over)}; ` +
                        `the oldest ${plural(dropped, "message")} (older revisions) would be dropped`);
                }
                break;
            }
        }
    }
    return out;
}

/** How to opt in, for a resource the fleet calls `name`. */
export function optInHint(name: string): string {
    return "Set allowDataLoss: true on the resource to proceed (in the kanade fleet: " +
        `\`pulumi config set --path kanade-jetstream:overrides.${name}.allowDataLoss true\`, or kanade-jetstream:allowDataLoss for every resource), ` +
        "or move the data first";
}

const MANAGED = new Set<string>(MANAGED_FIELDS);

/**
 * What a replacement does not carry over from the stream it deletes, besides
 * what contentLost names (refused without the opt-in): its sequence numbers,
 * and settings this program does not manage (a newer server's, or the
 * deprecated template_owner), which an update keeps but a create cannot know.
 */
export function notCarriedOver(existing: StreamInfo, desired: StreamConfig): string[] {
    const unmanaged = Object.entries(existing.config).filter(([k, v]) => !MANAGED.has(k) && !isUnset(v) && v !== false).map(([k]) => k);
    const next = (existing.state.last_seq ?? 0) + 1;
    return [
        contentLost(existing.state),
        next > 1 && (desired.first_seq ?? 1) < next ? `its sequence numbers (the next message would have been ${next}; the new stream starts at ${desired.first_seq ?? 1})` : undefined,
        unmanaged.length ? `settings this program does not manage: ${unmanaged.join(", ")}` : undefined,
    ].filter((p): p is string => p !== undefined);
}
