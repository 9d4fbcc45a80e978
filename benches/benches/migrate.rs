//! `config::migrate` over 10,000 configs of 1 KiB (`nacos` format, AES-256 envelope) with the
//! local keyring (one keyring to another, as a migration off a retired key service does): rekey and rewrap on one thread and on every core, beside the sum of the
//! crypto steps alone (`config::decrypt` then `config::encrypt` per config, one thread).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nacoscrypt_core::config::migrate::{self, Mode, Outcome, Plan, StoredConfig};
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::Keyring;
use std::hint::black_box;
use std::time::Duration;

const N: usize = 10_000;

fn corpus(k: &Keyring) -> Vec<StoredConfig> {
    let text: String = "spring.datasource.password=s3cret\n"
        .chars()
        .cycle()
        .take(1024)
        .collect();
    (0..N)
        .map(|i| {
            let data_id = format!("cipher-kms-aes-256-app-{i}.properties");
            let id = ConfigId::new(&data_id, "DEFAULT_GROUP", "");
            let s = config::encrypt(k, &id, &text, "alias/old", Format::Nacos).unwrap();
            StoredConfig::new(&id, &s.content, &s.encrypted_data_key)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut old = Keyring::new();
    old.add_new_key("alias/old").unwrap();
    let mut new = Keyring::new();
    new.add_new_key("alias/new").unwrap();
    let entries = corpus(&old);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);

    let mut g = c.benchmark_group("migrate 10000 x 1 KiB");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(N as u64));
    for mode in [Mode::Rekey, Mode::Rewrap] {
        let plan = Plan::new(Some(&old), &new, "alias/new", mode);
        for threads in [1, cores] {
            let name = format!("{mode:?}, {threads} thread(s)").to_lowercase();
            g.bench_function(name, |b| {
                b.iter(|| {
                    let out = migrate::migrate_all(&plan, black_box(&entries), threads, &|_| {});
                    assert!(matches!(out[0], Outcome::Migrated { .. }));
                    out
                });
            });
        }
    }
    g.bench_function("crypto steps alone (decrypt + encrypt), 1 thread", |b| {
        b.iter(|| {
            for e in black_box(&entries) {
                let id = e.id();
                let plain = config::decrypt(&old, &id, &e.content, &e.encrypted_data_key).unwrap();
                black_box(
                    config::encrypt(&new, &id, plain.as_str(), "alias/new", Format::Nacos).unwrap(),
                );
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
