//! Encrypts and decrypts one config with a local keyring: the main job, end to end.
//!
//! Run: `cargo run -p nacoscrypt-core --example roundtrip`
#![allow(clippy::print_stdout)]

use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::Keyring;

fn main() -> Result<(), nacoscrypt_core::Error> {
    let dir = std::env::temp_dir().join(format!("nacoscrypt-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| nacoscrypt_core::Error::Io {
        operation: "creating a temporary folder",
        message: e.to_string(),
    })?;
    let path = dir.join("keyring");
    Keyring::create(&path, "alias/nacoscrypt")?;
    let keyring = Keyring::load(&path)?;
    println!("created keyring {} (mode 0600)", path.display());

    let id = ConfigId::new("cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "");
    let plaintext = "spring.datasource.password=s3cret";
    for format in [Format::Nacos, Format::V1] {
        let stored = config::encrypt(&keyring, &id, plaintext, "alias/nacoscrypt", format)?;
        println!(
            "{format:>5}: content={} encryptedDataKey={}",
            stored.content, stored.encrypted_data_key
        );
        let back = config::decrypt(&keyring, &id, &stored.content, &stored.encrypted_data_key)?;
        assert_eq!(back.as_str(), plaintext);
        println!(
            "{format:>5}: decrypted back to the original ({} bytes)",
            back.len()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
