import { KeyValue, ObjectStore, Stream } from "kanade-jetstream";

const orders = new Stream("orders", { name: "ORDERS", subjects: ["orders.>"], maxAge: "7d", maxBytes: "64MiB" });
const ordersMirror = new Stream("orders-mirror", { name: "ORDERS_MIRROR", mirror: { name: "ORDERS" } }, { dependsOn: orders });
const sessions = new KeyValue("sessions", { bucket: "sessions", history: 1 });
const blobs = new ObjectStore("blobs", { bucket: "blobs", maxBytes: "16MiB" });
// Named after another resource's output: unknown in a new stack's preview, known during up.
const ordersIndex = new KeyValue("orders-index", { bucket: orders.stream.apply((s) => `${s.toLowerCase()}_index`) });

export const streams = [orders.stream, ordersMirror.stream, sessions.stream, blobs.stream, ordersIndex.stream];
