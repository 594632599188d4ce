//! kanade-bootstrap-compat: runs the kanade backend's real JetStream
//! bootstrap (async-nats 0.49) against a broker, so the TypeScript
//! providers can be checked for byte-identical stream configs.
//!
//! `ensure_jetstream_resources` / `ensure_object_store` below are a
//! faithful transcription of the NEWER seed
//! (/work/shared/seeds/001_bc984108579f92ea.txt, kanade_shared/bootstrap.rs)
//! with the `kanade_shared::kv` name constants filled in. Comments are
//! shortened; configs and call forms are unchanged. `tracing` macros are
//! replaced by eprintln! so the crate needs no logging stack.
//!
//! Subcommands (see README.md):
//!   bootstrap --url URL [--fleet older|newer] [--capture DIR]
//!   scheduler --url URL
//!   precap    --url URL
//!   dump      --url URL --out DIR
//!   replay    --url URL --out CAPTURE_DIR   (re-send captured STREAM.CREATE bodies)
//!
//! Auth (optional env): NATS_CREDS, NATS_TOKEN, NATS_USER + NATS_PASSWORD.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use async_nats::jetstream::{
    self,
    kv::Config as KvConfig,
    object_store::Config as ObjectStoreConfig,
    stream::{Config as StreamConfig, DiscardPolicy},
};
use futures::StreamExt;
use serde_json::Value;

// ── kanade_shared::kv constants (not in the seed; values from the seed README) ──
const STREAM_INVENTORY: &str = "INVENTORY";
const STREAM_RESULTS: &str = "RESULTS";
const STREAM_EXEC: &str = "EXEC";
const STREAM_EVENTS: &str = "EVENTS";
const STREAM_AUDIT: &str = "AUDIT";
const STREAM_OBS_EVENTS: &str = "OBS_EVENTS";
const STREAM_NOTIFICATIONS: &str = "NOTIFICATIONS";

const BUCKET_SCRIPT_CURRENT: &str = "script_current";
const BUCKET_SCRIPT_STATUS: &str = "script_status";
const BUCKET_AGENTS_STATE: &str = "agents_state";
const BUCKET_AGENT_CONFIG: &str = "agent_config";
const BUCKET_AGENT_GROUPS: &str = "agent_groups";
const BUCKET_GROUP_CONTACTS: &str = "group_contacts";
const BUCKET_SCHEDULES: &str = "schedules";
const BUCKET_JOBS: &str = "jobs";
const BUCKET_FLEET_CONFIG: &str = "fleet_config";
const BUCKET_NOTIFICATIONS_READ: &str = "notifications_read";
const BUCKET_JOBS_YAML: &str = "jobs_yaml";
const BUCKET_SCHEDULES_YAML: &str = "schedules_yaml";

const OBJECT_AGENT_RELEASES: &str = "agent_releases";
const OBJECT_APP_PACKAGES: &str = "app_packages";
const OBJECT_SCRIPTS: &str = "scripts";
const OBJECT_RESULT_OUTPUT: &str = "result_output";
const OBJECT_COLLECTIONS: &str = "collections";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fleet {
    /// Seed 000: 11 KV buckets (no group_contacts).
    Older,
    /// Seed 001: 12 KV buckets.
    Newer,
}

// ─────────────────────────── transcription of the seed ───────────────────────────

/// Seed `ensure_object_store`: create, and on ANY error fall back to an
/// existing store (warn), failing only if the store doesn't exist.
async fn ensure_object_store(js: &jetstream::Context, cfg: ObjectStoreConfig) -> Result<()> {
    let name = cfg.bucket.clone();
    if let Err(e) = js.create_object_store(cfg).await {
        if js.get_object_store(&name).await.is_err() {
            return Err(e).with_context(|| {
                format!("create_object_store {name} (and no existing store to fall back to)")
            });
        }
        eprintln!(
            "WARN store={name} error={e} object store exists with a different config; \
             using it as-is (cap not reconciled){}",
            code_suffix(&e)
        );
    }
    eprintln!("INFO store={name} ready");
    Ok(())
}

/// Seed `ensure_jetstream_resources` (newer seed). `fleet == Older`
/// skips group_contacts, which is the only difference to the older seed.
async fn ensure_jetstream_resources(js: &jetstream::Context, fleet: Fleet) -> Result<()> {
    // ── Streams ── (#518: max_bytes cap + Discard::Old on every stream)
    const MIB: i64 = 1024 * 1024;
    const GIB: i64 = 1024 * MIB;

    // INVENTORY — 90-day rolling history.
    js.create_or_update_stream(StreamConfig {
        name: STREAM_INVENTORY.into(),
        subjects: vec!["inventory.>".into()],
        max_age: Duration::from_secs(90 * 24 * 60 * 60),
        max_bytes: GIB,
        discard: DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .with_context(|| format!("create_or_update_stream {STREAM_INVENTORY}"))?;
    eprintln!("INFO stream={STREAM_INVENTORY} ready");

    // RESULTS — 30-day rolling history.
    js.create_or_update_stream(StreamConfig {
        name: STREAM_RESULTS.into(),
        subjects: vec!["results.>".into()],
        max_age: Duration::from_secs(30 * 24 * 60 * 60),
        max_bytes: 2 * GIB,
        discard: DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .with_context(|| format!("create_or_update_stream {STREAM_RESULTS}"))?;
    eprintln!("INFO stream={STREAM_RESULTS} ready");

    // EXEC — latest-per-subject only.
    js.create_or_update_stream(StreamConfig {
        name: STREAM_EXEC.into(),
        subjects: vec!["commands.>".into()],
        max_messages_per_subject: 1,
        max_age: Duration::from_secs(7 * 24 * 60 * 60),
        max_bytes: 64 * MIB,
        discard: DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .with_context(|| format!("create_or_update_stream {STREAM_EXEC}"))?;
    eprintln!("INFO stream={STREAM_EXEC} ready");

    // EVENTS — short-lived broadcast bus.
    js.create_or_update_stream(StreamConfig {
        name: STREAM_EVENTS.into(),
        subjects: vec!["events.>".into()],
        max_age: Duration::from_secs(7 * 24 * 60 * 60),
        max_bytes: 256 * MIB,
        discard: DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .with_context(|| format!("create_or_update_stream {STREAM_EVENTS}"))?;
    eprintln!("INFO stream={STREAM_EVENTS} ready");

    // AUDIT — operator-action record.
    js.create_or_update_stream(StreamConfig {
        name: STREAM_AUDIT.into(),
        subjects: vec!["audit.>".into()],
        max_age: Duration::from_secs(90 * 24 * 60 * 60),
        max_bytes: 512 * MIB,
        discard: DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .with_context(|| format!("create_or_update_stream {STREAM_AUDIT}"))?;
    eprintln!("INFO stream={STREAM_AUDIT} ready");

    // OBS_EVENTS — per-PC observability timeline.
    const SECS_PER_DAY: u64 = 24 * 60 * 60;
    const OBS_EVENTS_RETENTION_DAYS: u64 = 90;
    js.create_or_update_stream(StreamConfig {
        name: STREAM_OBS_EVENTS.into(),
        subjects: vec!["obs.>".into()],
        max_age: Duration::from_secs(OBS_EVENTS_RETENTION_DAYS * SECS_PER_DAY),
        max_bytes: 512 * MIB,
        discard: DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .with_context(|| format!("create_or_update_stream {STREAM_OBS_EVENTS}"))?;
    eprintln!("INFO stream={STREAM_OBS_EVENTS} ready");

    // NOTIFICATIONS — end-user notification history.
    js.create_or_update_stream(StreamConfig {
        name: STREAM_NOTIFICATIONS.into(),
        subjects: vec!["notifications.>".into()],
        max_age: Duration::from_secs(90 * 24 * 60 * 60),
        max_bytes: 512 * MIB,
        discard: DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .with_context(|| format!("create_or_update_stream {STREAM_NOTIFICATIONS}"))?;
    eprintln!("INFO stream={STREAM_NOTIFICATIONS} ready");

    // ── KV buckets ── (seed order; all `create_or_update_key_value`)
    ensure_kv_buckets(js, fleet).await?;

    // ── Object Store ──
    ensure_object_store(
        js,
        ObjectStoreConfig {
            bucket: OBJECT_AGENT_RELEASES.into(),
            ..Default::default()
        },
    )
    .await?;

    ensure_object_store(
        js,
        ObjectStoreConfig {
            bucket: OBJECT_APP_PACKAGES.into(),
            ..Default::default()
        },
    )
    .await?;

    ensure_object_store(
        js,
        ObjectStoreConfig {
            bucket: OBJECT_SCRIPTS.into(),
            ..Default::default()
        },
    )
    .await?;

    // result_output — 30-day max_age (lockstep with RESULTS), #518 1 GiB cap.
    ensure_object_store(
        js,
        ObjectStoreConfig {
            bucket: OBJECT_RESULT_OUTPUT.into(),
            max_age: Duration::from_secs(SECS_PER_DAY * 30),
            max_bytes: GIB,
            ..Default::default()
        },
    )
    .await?;

    // collections — #219 bundles, 30-day max_age, 5 GiB cap.
    ensure_object_store(
        js,
        ObjectStoreConfig {
            bucket: OBJECT_COLLECTIONS.into(),
            max_age: Duration::from_secs(SECS_PER_DAY * 30),
            max_bytes: 5 * GIB,
            ..Default::default()
        },
    )
    .await?;

    Ok(())
}

/// The KV section of the seed, in seed order. Every bucket is
/// `KvConfig { bucket, history, ..Default::default() }` via
/// `create_or_update_key_value`. Shared by `bootstrap` and `precap`
/// (the seed's KV configs predate #518 and carry no cap).
async fn ensure_kv_buckets(js: &jetstream::Context, fleet: Fleet) -> Result<()> {
    let mut buckets: Vec<(&str, i64)> = vec![
        (BUCKET_SCRIPT_CURRENT, 5),
        (BUCKET_SCRIPT_STATUS, 5),
        (BUCKET_AGENTS_STATE, 1),
        (BUCKET_AGENT_CONFIG, 5),
        (BUCKET_AGENT_GROUPS, 5),
    ];
    if fleet == Fleet::Newer {
        // group_contacts — per-group notification email addresses (newer seed only).
        buckets.push((BUCKET_GROUP_CONTACTS, 5));
    }
    buckets.extend([
        (BUCKET_SCHEDULES, 5),
        (BUCKET_JOBS, 5),
        (BUCKET_FLEET_CONFIG, 1),
        (BUCKET_NOTIFICATIONS_READ, 1),
        (BUCKET_JOBS_YAML, 5),
        (BUCKET_SCHEDULES_YAML, 5),
    ]);
    for (bucket, history) in buckets {
        js.create_or_update_key_value(KvConfig {
            bucket: bucket.into(),
            history,
            ..Default::default()
        })
        .await
        .with_context(|| format!("create_or_update_key_value {bucket}"))?;
        eprintln!("INFO bucket={bucket} ready");
    }
    Ok(())
}

// ─────────────────────────── the other subcommands ───────────────────────────

/// Backend scheduler start-up: a PLAIN create (not create_or_update).
async fn scheduler(js: &jetstream::Context) -> Result<()> {
    match js
        .create_key_value(KvConfig {
            bucket: BUCKET_SCHEDULES.into(),
            history: 5,
            ..Default::default()
        })
        .await
    {
        Ok(_) => {
            eprintln!("INFO bucket={BUCKET_SCHEDULES} create_key_value ok");
            Ok(())
        }
        Err(e) => {
            let code = js_error_code(&e);
            if let Some(c) = code {
                println!("jetstream_error_code={c}");
            }
            Err(anyhow!(
                "create_key_value {BUCKET_SCHEDULES} failed: {e}{}",
                code_suffix(&e)
            ))
        }
    }
}

/// Broker state "the pre-#518 way": same streams without `max_bytes`
/// (discard left at the async-nats default, which is Old anyway), the
/// seed's KV buckets, and the 5 object stores created with only
/// `bucket` (uncapped, no max_age) — the seed test's "as the pre-#518
/// backend did".
async fn precap(js: &jetstream::Context, fleet: Fleet) -> Result<()> {
    const DAY: u64 = 24 * 60 * 60;
    let streams: [(&str, &str, u64, i64); 7] = [
        (STREAM_INVENTORY, "inventory.>", 90, 0),
        (STREAM_RESULTS, "results.>", 30, 0),
        (STREAM_EXEC, "commands.>", 7, 1),
        (STREAM_EVENTS, "events.>", 7, 0),
        (STREAM_AUDIT, "audit.>", 90, 0),
        (STREAM_OBS_EVENTS, "obs.>", 90, 0),
        (STREAM_NOTIFICATIONS, "notifications.>", 90, 0),
    ];
    for (name, subject, days, per_subject) in streams {
        js.create_or_update_stream(StreamConfig {
            name: name.into(),
            subjects: vec![subject.into()],
            max_messages_per_subject: per_subject,
            max_age: Duration::from_secs(days * DAY),
            ..Default::default()
        })
        .await
        .with_context(|| format!("create_or_update_stream {name}"))?;
        eprintln!("INFO stream={name} ready (precap)");
    }
    ensure_kv_buckets(js, fleet).await?;
    for bucket in [
        OBJECT_AGENT_RELEASES,
        OBJECT_APP_PACKAGES,
        OBJECT_SCRIPTS,
        OBJECT_RESULT_OUTPUT,
        OBJECT_COLLECTIONS,
    ] {
        js.create_object_store(ObjectStoreConfig {
            bucket: bucket.into(),
            ..Default::default()
        })
        .await
        .with_context(|| format!("create_object_store {bucket}"))?;
        eprintln!("INFO store={bucket} ready (precap)");
    }
    Ok(())
}

/// Write the server's `config` object of every stream, sorted keys,
/// pretty, to DIR/<STREAM>.json.
async fn dump(client: &async_nats::Client, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let mut names: Vec<String> = Vec::new();
    let mut offset = 0usize;
    loop {
        let body = serde_json::to_vec(&serde_json::json!({ "offset": offset }))?;
        let msg = client
            .request("$JS.API.STREAM.NAMES", body.into())
            .await
            .context("$JS.API.STREAM.NAMES")?;
        let v: Value = serde_json::from_slice(&msg.payload)?;
        if let Some(err) = v.get("error") {
            bail!("STREAM.NAMES error: {err}");
        }
        let page: Vec<String> = v["streams"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let total = v["total"].as_u64().unwrap_or(0) as usize;
        offset += page.len();
        names.extend(page);
        if offset >= total || v["streams"].as_array().is_none_or(|a| a.is_empty()) {
            break;
        }
    }
    names.sort();
    for name in &names {
        let msg = client
            .request(format!("$JS.API.STREAM.INFO.{name}"), "".into())
            .await
            .with_context(|| format!("$JS.API.STREAM.INFO.{name}"))?;
        let v: Value = serde_json::from_slice(&msg.payload)?;
        if let Some(err) = v.get("error") {
            bail!("STREAM.INFO.{name} error: {err}");
        }
        let cfg = v
            .get("config")
            .ok_or_else(|| anyhow!("STREAM.INFO.{name}: no config"))?;
        let path = out.join(format!("{name}.json"));
        std::fs::write(&path, pretty_sorted(cfg)? + "\n")?;
        eprintln!("INFO wrote {}", path.display());
    }
    println!("{} streams dumped to {}", names.len(), out.display());
    Ok(())
}

/// Record every `$JS.API.STREAM.{CREATE,UPDATE}.*` request body (exact
/// bytes as async-nats sent them) seen by a second, plain connection.
/// Files: DIR/NN_<API.SUBJECT>.json. The server response is written
/// next to it as DIR/NN_<API.SUBJECT>.response.json.
async fn start_capture(
    url: &str,
    dir: PathBuf,
) -> Result<(
    tokio::task::JoinHandle<Result<usize>>,
    tokio::sync::oneshot::Sender<()>,
)> {
    std::fs::create_dir_all(&dir)?;
    let client = connect(url).await?;
    let mut reqs = client.subscribe("$JS.API.STREAM.>").await?;
    let mut replies = client.subscribe("_INBOX.>").await?;
    client.flush().await?;
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let mut n = 0usize;
        // reply subject -> file stem of the request, and replies that
        // overtook their request (two subscriptions, no ordering).
        let mut pending: BTreeMap<String, String> = BTreeMap::new();
        let mut early: BTreeMap<String, bytes::Bytes> = BTreeMap::new();
        loop {
            tokio::select! {
                Some(m) = reqs.next() => {
                    let subj = m.subject.as_str();
                    let api = subj.trim_start_matches("$JS.API.");
                    if !(api.starts_with("STREAM.CREATE.") || api.starts_with("STREAM.UPDATE.")) {
                        continue;
                    }
                    n += 1;
                    let stem = format!("{n:02}_{api}");
                    std::fs::write(dir.join(format!("{stem}.json")), &m.payload)?;
                    if let Some(r) = m.reply {
                        match early.remove(r.as_str()) {
                            Some(body) => std::fs::write(dir.join(format!("{stem}.response.json")), &body)?,
                            None => { pending.insert(r.to_string(), stem); }
                        }
                    }
                }
                Some(m) = replies.next() => {
                    match pending.remove(m.subject.as_str()) {
                        Some(stem) => std::fs::write(dir.join(format!("{stem}.response.json")), &m.payload)?,
                        None => { early.insert(m.subject.to_string(), m.payload); }
                    }
                }
                _ = &mut stop_rx => break,
            }
        }
        Ok(n)
    });
    Ok((handle, stop_tx))
}

/// Re-send captured `STREAM.CREATE.*` request bodies (exact bytes, as
/// recorded by `bootstrap --capture`) to another broker. Used to see what
/// a server that async-nats 0.49 cannot drive (2.9.x: KV creation dies
/// decoding `$JS.API.INFO`) stores for the very same request bytes.
async fn replay(client: &async_nats::Client, dir: &Path) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.contains("_STREAM.CREATE.") && n.ends_with(".json") && !n.ends_with(".response.json")
        })
        .collect();
    files.sort();
    let mut failed = 0;
    for f in &files {
        let n = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let api = n
            .split_once('_')
            .map(|x| x.1)
            .unwrap_or(n)
            .trim_end_matches(".json");
        let body = std::fs::read(f)?;
        let msg = client
            .request(format!("$JS.API.{api}"), body.into())
            .await
            .with_context(|| api.to_string())?;
        let v: Value = serde_json::from_slice(&msg.payload)?;
        match v.get("error") {
            Some(err) => {
                failed += 1;
                eprintln!("ERROR {api}: {err}");
            }
            None => eprintln!("INFO {api} ok"),
        }
    }
    if failed > 0 {
        bail!("{failed} of {} replayed creates failed", files.len());
    }
    println!("replayed {} creates", files.len());
    Ok(())
}

// ─────────────────────────── helpers ───────────────────────────

fn pretty_sorted(v: &Value) -> Result<String> {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    Ok(serde_json::to_string_pretty(&sort(v))?)
}

/// Walk an error chain looking for a JetStream API error and return its
/// server error code (e.g. 10058).
fn js_error_code(e: &(dyn std::error::Error + 'static)) -> Option<u64> {
    use async_nats::jetstream::context::{CreateStreamError, CreateStreamErrorKind};
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(api) = err.downcast_ref::<jetstream::Error>() {
            return Some(api.error_code().0);
        }
        if let Some(cs) = err.downcast_ref::<CreateStreamError>() {
            if let CreateStreamErrorKind::JetStream(api) = cs.kind() {
                return Some(api.error_code().0);
            }
        }
        cur = err.source();
    }
    None
}

fn code_suffix(e: &(dyn std::error::Error + 'static)) -> String {
    js_error_code(e)
        .map(|c| format!(" [jetstream error code {c}]"))
        .unwrap_or_default()
}

async fn connect(url: &str) -> Result<async_nats::Client> {
    let mut opts = async_nats::ConnectOptions::new();
    if let Ok(creds) = std::env::var("NATS_CREDS") {
        opts = opts
            .credentials_file(&creds)
            .await
            .with_context(|| format!("NATS_CREDS {creds}"))?;
    }
    if let Ok(token) = std::env::var("NATS_TOKEN") {
        opts = opts.token(token);
    }
    if let Ok(user) = std::env::var("NATS_USER") {
        opts = opts.user_and_password(user, std::env::var("NATS_PASSWORD").unwrap_or_default());
    }
    opts.connect(url)
        .await
        .with_context(|| format!("connect {url}"))
}

struct Args {
    cmd: String,
    url: String,
    fleet: Fleet,
    out: Option<PathBuf>,
    capture: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: kanade-bootstrap-compat <bootstrap|scheduler|precap|dump|replay> --url URL \
         [--fleet older|newer] [--capture DIR] [--out DIR]"
    );
    std::process::exit(2)
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| usage());
    let (mut url, mut fleet, mut out, mut capture) = (None, Fleet::Newer, None, None);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| anyhow!("{a} needs a value"));
        match a.as_str() {
            "--url" => url = Some(val()?),
            "--fleet" => {
                fleet = match val()?.as_str() {
                    "older" => Fleet::Older,
                    "newer" => Fleet::Newer,
                    other => bail!("--fleet must be older|newer, got {other}"),
                }
            }
            "--out" => out = Some(PathBuf::from(val()?)),
            "--capture" => capture = Some(PathBuf::from(val()?)),
            "-h" | "--help" => usage(),
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(Args {
        cmd,
        url: url.ok_or_else(|| anyhow!("--url is required"))?,
        fleet,
        out,
        capture,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = parse_args()?;
    let client = connect(&args.url).await?;
    let js = jetstream::new(client.clone());
    match args.cmd.as_str() {
        "bootstrap" => {
            let cap = match &args.capture {
                Some(dir) => Some(start_capture(&args.url, dir.clone()).await?),
                None => None,
            };
            let res = ensure_jetstream_resources(&js, args.fleet).await;
            if let Some((handle, stop)) = cap {
                // let the last reply reach the capture connection
                tokio::time::sleep(Duration::from_millis(300)).await;
                let _ = stop.send(());
                let n = handle.await??;
                eprintln!("INFO captured {n} STREAM.CREATE/UPDATE requests");
            }
            res?;
            println!("bootstrap ({:?}) ok", args.fleet);
        }
        "scheduler" => scheduler(&js).await?,
        "precap" => {
            precap(&js, args.fleet).await?;
            println!("precap ({:?}) ok", args.fleet);
        }
        "dump" => {
            let out = args
                .out
                .clone()
                .ok_or_else(|| anyhow!("dump needs --out DIR"))?;
            dump(&client, &out).await?;
        }
        "replay" => {
            let dir = args
                .out
                .clone()
                .ok_or_else(|| anyhow!("replay needs --out CAPTURE_DIR"))?;
            replay(&client, &dir).await?;
        }
        _ => usage(),
    }
    client.flush().await?;
    Ok(())
}
