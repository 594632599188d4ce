// What a resource's stored `__provider` text loads (resource.ts): every
// kind's provider, by kind name. Only the engine's dynamic-provider host
// loads this entry, so it also sets V8's memory settings for that process
// (nodeMemory.ts, first).
import "./nodeMemory.ts";
import { provider as keyValue } from "./keyValue.ts";
import { provider as objectStore } from "./objectStore.ts";
import { provider as stream } from "./stream.ts";

export const providers = { stream, keyValue, objectStore };
