//! `glaux ingest`: local files or S3 objects into a local or S3 store.

use std::io::Write;
use std::path::PathBuf;

use glaux_aws::StoreLocation;
use glaux_aws::s3::{S3, S3Url};
use glaux_aws::store::{S3Objects, S3Target, list_logs};
use glaux_store::{Files, IngestOptions, IngestReport, Source, Target};

use crate::cli::IngestArgs;
use crate::config::Settings;
use crate::{EXIT_ERROR, EXIT_OK};

/// Local paths and S3 prefixes of one ingest, split.
struct Inputs {
    local: Vec<PathBuf>,
    s3: Vec<S3Url>,
}

fn split_inputs(paths: &[String]) -> Result<Inputs, String> {
    let mut inputs = Inputs {
        local: Vec::new(),
        s3: Vec::new(),
    };
    for p in paths {
        match S3Url::parse(p) {
            Some(url) => inputs.s3.push(url?),
            None => inputs.local.push(PathBuf::from(p)),
        }
    }
    Ok(inputs)
}

/// Local files first, then S3 objects.
struct Chain(Vec<Box<dyn Source>>);

impl Source for Chain {
    fn next(&self) -> Option<Result<glaux_store::Fetched, (String, String)>> {
        self.0.iter().find_map(|s| s.next())
    }
}

/// Runs the ingest command; returns the exit status.
pub fn run(
    args: IngestArgs,
    store: &StoreLocation,
    settings: &Settings,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let inputs = match split_inputs(&args.paths) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    let store_s3 = match store {
        StoreLocation::S3(url) => Some(url),
        StoreLocation::Local(_) => None,
    };
    let options = IngestOptions {
        tag: args.tag,
        time_field: args.time_field,
        workers: args.workers,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERROR;
        }
    };
    // AWS is set up only when an input or the store is on S3.
    let s3 = if store_s3.is_some() || !inputs.s3.is_empty() {
        let aws = settings.aws();
        match runtime.block_on(glaux_aws::load(&aws)) {
            Ok(config) => Some(S3::new(&config, aws.endpoint_url.is_some())),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        None
    };

    let mut sources: Vec<Box<dyn Source>> = Vec::new();
    let files = match glaux_store::ingest::list_objects(&inputs.local) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(err, "error: listing input files: {e}");
            return EXIT_ERROR;
        }
    };
    sources.push(Box::new(Files::new(files)));
    if let Some(s3) = &s3 {
        // Every object once, however the inputs overlap (`s3://b/` and
        // `s3://b/app/`), and never the store's own files when it sits
        // under an input prefix.
        let mut objects = std::collections::BTreeMap::new();
        for url in &inputs.s3 {
            match runtime.block_on(list_logs(s3, url)) {
                Ok(listed) => {
                    for o in listed {
                        let in_store = store_s3.as_ref().is_some_and(|st| {
                            st.bucket == url.bucket && o.key.starts_with(&st.prefix)
                        });
                        if !in_store {
                            objects.insert((url.bucket.clone(), o.key.clone()), o);
                        }
                    }
                }
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    return EXIT_ERROR;
                }
            }
        }
        let objects: Vec<_> = objects
            .into_iter()
            .map(|((bucket, _), o)| (bucket, o))
            .collect();
        // One source for all inputs: --concurrency bounds the whole run.
        sources.push(Box::new(S3Objects::start(
            s3.clone(),
            objects,
            args.concurrency as usize,
            runtime.handle(),
        )));
    }
    let source = Chain(sources);

    let local_store;
    let s3_store;
    // The store's writer lock, held while this ingest writes: compaction
    // takes it too, and would otherwise delete a file written into a
    // partition it is rewriting (an OS file lock locally, a lock object on
    // S3).
    let _lock;
    let _s3_lock;
    let target: &dyn Target = match (store, &s3) {
        (StoreLocation::S3(url), Some(s3)) => {
            s3_store = S3Target::new(s3.clone(), url.clone(), runtime.handle().clone());
            _s3_lock = match glaux_store::compact_s3::lock(&s3_store, "ingest") {
                Ok(lock) => lock,
                Err(e) => {
                    let _ = writeln!(err, "error: {e}");
                    return EXIT_ERROR;
                }
            };
            &s3_store
        }
        (StoreLocation::S3(url), None) => {
            // Not reached: AWS is set up above whenever the store is on S3.
            let _ = writeln!(err, "error: no S3 client for the store {url}");
            return EXIT_ERROR;
        }
        (StoreLocation::Local(store), _) => {
            local_store = store.clone();
            if let Err(e) = local_store.create() {
                let _ = writeln!(
                    err,
                    "error: creating the store at {}: {e}",
                    store.root().display()
                );
                return EXIT_ERROR;
            }
            _lock = match glaux_store::compact::lock(&local_store) {
                Ok(lock) => lock,
                Err(e) => {
                    let _ = writeln!(
                        err,
                        "error: locking the store at {}: {e}",
                        store.root().display()
                    );
                    return EXIT_ERROR;
                }
            };
            &local_store
        }
    };
    let result = glaux_store::ingest_from(target, &source, &options);
    report(result, &target.describe(), out, err)
}

fn report(
    result: std::io::Result<IngestReport>,
    store: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match result {
        Ok(report) => {
            let _ = writeln!(out, "ingested into {store}");
            let _ = writeln!(out, "{report}");
            if report.failed.is_empty() {
                EXIT_OK
            } else {
                EXIT_ERROR
            }
        }
        Err(e) => {
            let _ = writeln!(err, "error: ingest failed: {e}");
            EXIT_ERROR
        }
    }
}
