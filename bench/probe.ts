// Preloaded into every Node.js process of a benchmarked Pulumi run
// (NODE_OPTIONS=--require): keeps one small file per process saying what it
// is (the program, the dynamic-provider host or a helper), the TCP
// connections it opened (local and remote port, so the benchmark can tell
// which process each broker connection in /connz belongs to) and, when it
// exits normally, its peak memory. Provider hosts die by the engine's SIGINT,
// so the file is rewritten at every connect, and their peak memory comes from
// the plugin wrapper (/usr/bin/time) instead.
// Does nothing unless KANADE_BENCH_PROBE_DIR is set.
import { subscribe } from "node:diagnostics_channel";
import { writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import path from "node:path";

const dir = process.env.KANADE_BENCH_PROBE_DIR;
if (dir) {
    const script = process.argv[1] ?? "";
    const role = /[\\/]cmd[\\/]run[\\/]/.test(script) ? "program" : /[\\/]dynamic-provider[\\/]/.test(script) ? "provider" : "other";
    const file = path.join(dir, `node-${process.pid}.json`);
    const started = Date.now();
    const sockets: { local: number; remote: number; at: number }[] = [];
    let end: object = {};
    const record = () => {
        try {
            writeFileSync(file, JSON.stringify({ pid: process.pid, ppid: process.ppid, role, script, started, sockets, ...end }));
        } catch {
            /* the run's dir may be gone already; never disturb the process */
        }
    };
    record();
    subscribe("net.client.socket", (message) => {
        const socket = (message as { socket: Socket }).socket;
        socket.once("connect", () => {
            if (socket.localPort !== undefined && socket.remotePort !== undefined) {
                sockets.push({ local: socket.localPort, remote: socket.remotePort, at: Date.now() });
                record();
            }
        });
    });
    process.on("exit", () => {
        const usage = process.resourceUsage();
        end = { exited: Date.now(), maxRssKiB: usage.maxRSS, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6 };
        record();
    });
}
