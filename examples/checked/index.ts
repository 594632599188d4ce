import { KeyValue, type ResourceSpec, Stream, checkResources } from "kanade-jetstream";

const orders = { kind: "stream", args: { name: "ORDERS", subjects: ["orders.>"], maxBytes: "64MiB" } } satisfies ResourceSpec;
const sessions = { kind: "keyValue", args: { bucket: "sessions", history: 1, maxBytes: "16MiB" } } satisfies ResourceSpec;

export default async () => {
    // Before anything is declared: a problem here fails preview and up with nothing changed.
    await checkResources([orders, sessions]);
    return {
        streams: [new Stream("orders", orders.args).stream, new KeyValue("sessions", sessions.args).stream],
    };
};
