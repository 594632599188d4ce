// JetStream API errors, mapped by err_code to what an operator can do about
// them. Every message names the resource and carries the broker's own words.

/** A JetStream API error reply: `{"error": {code, err_code, description}}`. */
export class JetStreamError extends Error {
    readonly errCode: number;
    readonly description: string;
    readonly subject: string;

    /** `attempts`: how many times jsApi sent the request (it repeats idempotent ones on a TRANSIENT error). */
    constructor(errCode: number, description: string, subject: string, attempts = 1) {
        super(`[${errCode}] ${description}${attempts > 1 ? ` (${subject}, still after ${attempts} attempts)` : ""}`);
        this.name = "JetStreamError";
        this.errCode = errCode;
        this.description = description;
        this.subject = subject;
    }
}

export const ERR = {
    insufficientStorage: 10047,
    insufficientMemory: 10028,
    streamInvalidConfig: 10052,
    mirrorNotUpdatable: 10055,
    streamNameInUse: 10058,
    streamNotFound: 10059,
    subjectOverlap: 10065,
    replicasNotSupported: 10074,
    invalidJson: 10025,
    noPeers: 10005,
    maxBytesRequired: 10113,
    maxStreamBytesExceeded: 10122,
    notEnabledForAccount: 10039,
    clusterNotAvailable: 10008,
    clusterNotLeader: 10009,
    streamOffline: 10118,
} as const;

/**
 * Errors that mean "try again" (nats-server errors.json): no meta leader or
 * JetStream not ready yet (10008, "JetStream system temporarily
 * unavailable"), the server lost its leadership while handling the request
 * (10009), the stream's replicas are not running yet after a restart (10118).
 */
export const TRANSIENT: ReadonlySet<number> = new Set([ERR.clusterNotAvailable, ERR.clusterNotLeader, ERR.streamOffline]);

const RETRIED =
    "a leader election or a server restart that did not end while the request was retried (about 30s): " +
    "check that a majority of the cluster's servers are up and see each other (nats server report jetstream), then run the command again";

const ADVICE: Record<number, string> = {
    [ERR.insufficientStorage]:
        "the broker reserves every max_bytes (x replicas) against its file store; lower maxBytes here or in the fleet's size scale, or raise the server's max_file_store / the account's JetStream limits",
    [ERR.insufficientMemory]:
        "the broker reserves every max_bytes (x replicas) against its memory store; lower maxBytes or raise max_memory_store / the account's limits",
    [ERR.streamInvalidConfig]: "the broker rejected the config; fix the setting it names",
    [ERR.mirrorNotUpdatable]: "a mirror cannot be changed in place; the resource must be replaced",
    [ERR.streamNameInUse]: "a stream of that name exists with another config; let this program adopt it (pulumi up) instead of a plain create",
    [ERR.subjectOverlap]: "another stream on the broker already captures one of these subjects; change the subjects or remove the other stream",
    [ERR.replicasNotSupported]: "the broker is a single server; use replicas: 1, or run a JetStream cluster",
    [ERR.invalidJson]: "the broker did not understand a field; it may be too old for it (check the server version)",
    [ERR.noPeers]: "the cluster has no peers that fit (placement, storage or replicas); check placement tags and free storage on every node",
    [ERR.maxBytesRequired]: "the account requires every stream to set maxBytes",
    [ERR.maxStreamBytesExceeded]: "maxBytes exceeds the account's per-stream limit; lower it",
    [ERR.notEnabledForAccount]: "JetStream is not enabled for this account; enable it in the server's account config",
    [ERR.clusterNotAvailable]: RETRIED,
    [ERR.clusterNotLeader]: RETRIED,
    [ERR.streamOffline]: RETRIED,
};

/** The error a provider method throws: what failed, on which resource, why, and what to do. */
export function resourceError(resource: string, action: string, err: unknown): Error {
    if (err instanceof JetStreamError) {
        const advice = ADVICE[err.errCode];
        return new Error(`${resource}: ${action} failed: the broker answered ${err.message}${advice ? `; ${advice}` : ""}`);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new Error(`${resource}: ${action} failed: ${message}`);
}
