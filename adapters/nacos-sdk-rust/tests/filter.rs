//! The filter driven as the SDK drives it: `ConfigReq` / `ConfigResp` built with the SDK's own
//! constructors, `ConfigFilter::filter` called through `Box<dyn ConfigFilter>` in a chain, as
//! `nacos-sdk` 0.8.3's `ConfigWorker` does (`publish_config_inner`, `get_config`). No server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use nacos_sdk::api::config::ConfigServiceBuilder;
use nacos_sdk::api::plugin::ConfigEncryptionFilter;
use nacos_sdk::api::props::ClientProps;
use nacoscrypt_core::ErrorKind;
use nacoscrypt_core::config::{self, ConfigId, Format};
use nacoscrypt_core::kms::{Context, GeneratedDataKey, KeySpec, Keyring, Kms};
use nacoscrypt_core::{Result as CoreResult, SecretBytes};
use nacoscrypt_nacos_sdk::{
    ConfigFilter, ConfigReq, ConfigResp, DEFAULT_KEY_ID, Direction, FilterError, NacosCryptFilter,
    OnError,
};
use serde_json::Value;

const SCHEMES: [&str; 3] = [
    "cipher-kms-aes-256-db.properties",
    "cipher-kms-aes-128-app.yaml",
    "cipher-token.json",
];
const FORMATS: [Format; 2] = [Format::Nacos, Format::V1];
const PLAINTEXT: &str = "username=nacos\npassword=secret&x=1\n中文=ü";

fn keyring(key_id: &str) -> Keyring {
    let mut keyring = Keyring::new();
    keyring.add_new_key(key_id).unwrap();
    keyring
}

fn req(data_id: &str, group: &str, namespace: &str, content: &str) -> ConfigReq {
    ConfigReq::new(
        data_id.into(),
        group.into(),
        namespace.into(),
        content.into(),
        String::new(),
    )
}

/// What the SDK's `get_config` builds from the server's answer.
fn resp_of(req: &ConfigReq) -> ConfigResp {
    ConfigResp::new(
        req.data_id.clone(),
        req.group.clone(),
        req.namespace.clone(),
        req.content.clone(),
        req.encrypted_data_key.clone(),
    )
}

/// The SDK's loops: every filter in insertion order, with `(Some(req), None)` on publish and
/// `(None, Some(resp))` on receive (nacos-sdk 0.8.3, src/config/worker.rs and cache.rs).
async fn publish(chain: &[Box<dyn ConfigFilter>], req: &mut ConfigReq) {
    for filter in chain {
        filter.filter(Some(&mut *req), None).await;
    }
}

async fn receive(chain: &[Box<dyn ConfigFilter>], resp: &mut ConfigResp) {
    for filter in chain {
        filter.filter(None, Some(&mut *resp)).await;
    }
}

type Errors = Arc<Mutex<Vec<FilterError>>>;

fn recording(filter: NacosCryptFilter) -> (NacosCryptFilter, Errors) {
    let errors: Errors = Arc::default();
    let sink = Arc::clone(&errors);
    let filter = filter.with_error_hook(move |e| sink.lock().unwrap().push(e.clone()));
    (filter, errors)
}

async fn round_trip_every_scheme_and_format(inline: bool) {
    let kms = Arc::new(keyring(DEFAULT_KEY_ID));
    for format in FORMATS {
        for data_id in SCHEMES {
            for namespace in ["", "prod"] {
                let (filter, errors) = recording(
                    NacosCryptFilter::from_arc(kms.clone())
                        .with_format(format)
                        .with_kms_inline(inline),
                );
                let chain: Vec<Box<dyn ConfigFilter>> = vec![Box::new(filter)];
                let mut request = req(data_id, "payments", namespace, PLAINTEXT);
                publish(&chain, &mut request).await;
                let case = format!("{format} {data_id} {namespace:?}");

                assert_ne!(request.content, PLAINTEXT, "{case}");
                assert_eq!(
                    request.content.starts_with("nc1:"),
                    format == Format::V1,
                    "{case}"
                );
                let direct = data_id == "cipher-token.json";
                assert_eq!(request.encrypted_data_key.is_empty(), direct, "{case}");
                assert_eq!(
                    (
                        request.data_id.as_str(),
                        request.group.as_str(),
                        request.namespace.as_str()
                    ),
                    (data_id, "payments", namespace),
                    "{case}"
                );

                // What was published is what the core reads (and any other nacoscrypt binding).
                let id = ConfigId::new(data_id, "payments", namespace);
                let by_core =
                    config::decrypt(&*kms, &id, &request.content, &request.encrypted_data_key)
                        .unwrap();
                assert_eq!(by_core.as_str(), PLAINTEXT, "{case}");

                let mut response = resp_of(&request);
                receive(&chain, &mut response).await;
                assert_eq!(response.content, PLAINTEXT, "{case}");
                assert_eq!(response.encrypted_data_key, request.encrypted_data_key);
                assert!(errors.lock().unwrap().is_empty(), "{case}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn round_trips_on_the_blocking_pool_of_a_multi_thread_runtime() {
    // The SDK's own runtime is multi-thread with one worker.
    round_trip_every_scheme_and_format(false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn round_trips_on_a_current_thread_runtime() {
    round_trip_every_scheme_and_format(false).await;
}

#[tokio::test(flavor = "current_thread")]
async fn round_trips_inline() {
    round_trip_every_scheme_and_format(true).await;
}

#[test]
fn the_sync_calls_need_no_runtime() {
    let filter = NacosCryptFilter::new(keyring(DEFAULT_KEY_ID)).with_format(Format::V1);
    for data_id in SCHEMES {
        let mut request = req(data_id, "DEFAULT_GROUP", "", PLAINTEXT);
        assert!(filter.encrypt_req(&mut request).unwrap());
        let mut response = resp_of(&request);
        assert!(filter.decrypt_resp(&mut response).unwrap());
        assert_eq!(response.content, PLAINTEXT);
    }
}

#[tokio::test]
async fn configs_encrypted_by_the_core_decrypt_through_the_filter() {
    let kms = Arc::new(keyring("alias/nacos"));
    let filter = NacosCryptFilter::from_arc(kms.clone()).with_key_id("alias/nacos");
    for format in FORMATS {
        for data_id in SCHEMES {
            let id = ConfigId::new(data_id, "DEFAULT_GROUP", "ns-1");
            let stored = config::encrypt(&*kms, &id, PLAINTEXT, "alias/nacos", format).unwrap();
            let mut response = ConfigResp::new(
                data_id.into(),
                "DEFAULT_GROUP".into(),
                "ns-1".into(),
                stored.content,
                stored.encrypted_data_key,
            );
            filter.filter(None, Some(&mut response)).await;
            assert_eq!(response.content, PLAINTEXT, "{format} {data_id}");
        }
    }
}

fn vectors() -> Value {
    let text = include_str!("vectors/config-local-kms.json");
    serde_json::from_str(text).unwrap()
}

fn s<'a>(case: &'a Value, field: &str) -> &'a str {
    case[field].as_str().unwrap()
}

fn vector_resp(case: &Value) -> ConfigResp {
    ConfigResp::new(
        s(case, "dataId").into(),
        s(case, "group").into(),
        s(case, "tenant").into(),
        s(case, "content").into(),
        s(case, "encryptedDataKey").into(),
    )
}

#[tokio::test]
async fn the_shared_vectors_decrypt_through_the_filter() {
    let v = vectors();
    let kms = Keyring::parse(s(&v, "keyring")).unwrap();
    let (filter, errors) = recording(NacosCryptFilter::new(kms));
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let mut response = vector_resp(case);
        filter.filter(None, Some(&mut response)).await;
        assert_eq!(response.content, s(case, "plaintext"), "{case}");
    }
    assert!(errors.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_shared_must_fail_vectors_reach_nobody_as_content() {
    let v = vectors();
    let kms = Keyring::parse(s(&v, "keyring")).unwrap();
    let (filter, errors) = recording(NacosCryptFilter::new(kms));
    let cases = v["must_fail"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let mut response = vector_resp(case);
        filter.filter(None, Some(&mut response)).await;
        assert_eq!(response.content, "", "{case}");
        let errors = errors.lock().unwrap();
        let err = errors.last().unwrap();
        assert_eq!(err.direction, Direction::Receive);
        assert_eq!(err.data_id, s(case, "dataId"));
        assert_eq!(
            err.error.kind(),
            ErrorKind::AuthenticationFailed,
            "{}: {err}",
            s(case, "reason")
        );
    }
    assert_eq!(errors.lock().unwrap().len(), cases.len());
}

#[tokio::test]
async fn a_wrong_key_clears_the_content_and_reports() {
    // Same key id, another key: what a client with the wrong keyring sees.
    let writer = NacosCryptFilter::new(keyring(DEFAULT_KEY_ID));
    let (reader, errors) = recording(NacosCryptFilter::new(keyring(DEFAULT_KEY_ID)));
    for data_id in SCHEMES {
        let mut request = req(data_id, "DEFAULT_GROUP", "", PLAINTEXT);
        writer.filter(Some(&mut request), None).await;
        let mut response = resp_of(&request);
        reader.filter(None, Some(&mut response)).await;
        assert_eq!(response.content, "", "{data_id}");

        let direct = ConfigResp::new(
            data_id.into(),
            "DEFAULT_GROUP".into(),
            String::new(),
            request.content.clone(),
            request.encrypted_data_key.clone(),
        );
        let mut unchanged = direct;
        let err = reader.decrypt_resp(&mut unchanged).unwrap_err();
        assert_eq!(err.error.kind(), ErrorKind::UnknownKey, "{err}");
        assert_eq!(unchanged.content, request.content, "decrypt_resp leaves it");
    }
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), SCHEMES.len());
    for err in errors.iter() {
        assert_eq!(err.direction, Direction::Receive);
        assert_eq!(err.error.kind(), ErrorKind::UnknownKey, "{err}");
        assert!(!err.to_string().contains("password"), "{err}");
    }
}

#[tokio::test]
async fn a_failed_publish_sends_no_plaintext_and_a_blank_config() {
    // The keyring has no `alias/acs/mse`: the KMS refuses.
    let (filter, errors) = recording(NacosCryptFilter::new(keyring("alias/other")));
    for data_id in SCHEMES {
        let mut request = req(data_id, "DEFAULT_GROUP", "ns", PLAINTEXT);
        filter.filter(Some(&mut request), None).await;
        assert_eq!(request.content, "", "{data_id}");
        assert_eq!(request.encrypted_data_key, "", "{data_id}");
        assert_eq!(request.data_id, data_id);
    }
    let errors = errors.lock().unwrap();
    assert_eq!(errors.len(), SCHEMES.len());
    for err in errors.iter() {
        assert_eq!(err.direction, Direction::Publish);
        assert_eq!(err.namespace, "ns");
        assert!(!err.to_string().contains("password"), "{err}");
    }
}

#[tokio::test]
async fn too_large_content_is_refused_on_publish() {
    let (filter, errors) = recording(NacosCryptFilter::new(keyring(DEFAULT_KEY_ID)));
    let big = "x".repeat(6_145);
    let mut request = req("cipher-token.json", "DEFAULT_GROUP", "", &big);
    filter.filter(Some(&mut request), None).await;
    assert_eq!(request.content, "");
    let errors = errors.lock().unwrap();
    assert_eq!(errors[0].error.kind(), ErrorKind::ContentTooLarge);
    assert_eq!(
        errors[0].error.to_string(),
        "content too large: 6145 bytes, the limit is 6144"
    );
}

#[tokio::test]
async fn on_error_panic_panics_in_the_task_that_runs_the_filter() {
    let (filter, errors) =
        recording(NacosCryptFilter::new(keyring(DEFAULT_KEY_ID)).with_on_error(OnError::Panic));
    let task = tokio::spawn(async move {
        let mut response = ConfigResp::new(
            "cipher-kms-aes-256-x".into(),
            "DEFAULT_GROUP".into(),
            String::new(),
            "AAAA".into(),
            String::new(),
        );
        filter.filter(None, Some(&mut response)).await;
    });
    let join = task.await.unwrap_err();
    assert!(join.is_panic());
    let message = join.into_panic();
    let message = message.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("nacoscrypt could not decrypt cipher-kms-aes-256-x"),
        "{message}"
    );
    assert_eq!(
        errors.lock().unwrap()[0].error.kind(),
        ErrorKind::InvalidEncryptedDataKey
    );
}

#[tokio::test]
async fn other_data_ids_and_blank_content_pass_through_unchanged() {
    let (filter, errors) = recording(NacosCryptFilter::new(Keyring::new()));
    let cases = [
        ("application.yaml", "a: b", ""),
        ("db.properties", "password=plain", "some-key"),
        ("Cipher-kms-aes-256-upper", "a=b", ""),
        ("kms-aes-256-cipher-", "a=b", ""),
        ("cipher-kms-aes-256-blank", "", ""),
        ("cipher-kms-aes-128-blank", " \n\t", "edk"),
        ("cipher-blank", "   ", ""),
    ];
    for (data_id, content, edk) in cases {
        let mut request = ConfigReq::new(
            data_id.into(),
            "G".into(),
            "N".into(),
            content.into(),
            edk.into(),
        );
        filter.filter(Some(&mut request), None).await;
        assert_eq!(
            (
                request.content.as_str(),
                request.encrypted_data_key.as_str()
            ),
            (content, edk),
            "{data_id}"
        );
        let mut response = ConfigResp::new(
            data_id.into(),
            "G".into(),
            "N".into(),
            content.into(),
            edk.into(),
        );
        filter.filter(None, Some(&mut response)).await;
        assert_eq!(
            (
                response.content.as_str(),
                response.encrypted_data_key.as_str()
            ),
            (content, edk),
            "{data_id}"
        );
    }
    // The Keyring is empty: had the filter tried, it would have failed.
    assert!(errors.lock().unwrap().is_empty());
}

#[tokio::test]
async fn v1_binds_the_namespace_of_the_request() {
    let filter = NacosCryptFilter::new(keyring(DEFAULT_KEY_ID)).with_format(Format::V1);
    let mut request = req("cipher-kms-aes-256-db", "DEFAULT_GROUP", "prod", PLAINTEXT);
    filter.filter(Some(&mut request), None).await;
    let mut elsewhere = resp_of(&request);
    elsewhere.namespace = "staging".into();
    let err = filter.decrypt_resp(&mut elsewhere).unwrap_err();
    assert_eq!(err.error.kind(), ErrorKind::AuthenticationFailed);

    // An empty namespace is `public`, as everywhere in nacoscrypt.
    let mut request = req("cipher-kms-aes-256-db", "DEFAULT_GROUP", "", PLAINTEXT);
    filter.filter(Some(&mut request), None).await;
    let mut public = resp_of(&request);
    public.namespace = "public".into();
    assert!(filter.decrypt_resp(&mut public).unwrap());
    assert_eq!(public.content, PLAINTEXT);
}

#[tokio::test]
async fn the_key_id_is_the_filters() {
    let kms = Arc::new(keyring("alias/nacos"));
    let filter = NacosCryptFilter::from_arc(kms.clone()).with_key_id("alias/nacos");
    let mut request = req("cipher-token.json", "DEFAULT_GROUP", "", PLAINTEXT);
    filter.filter(Some(&mut request), None).await;
    assert!(!request.content.is_empty());
    // The default key id is not in this keyring.
    let default = NacosCryptFilter::from_arc(kms);
    let mut request = req("cipher-token.json", "DEFAULT_GROUP", "", PLAINTEXT);
    let err = default.encrypt_req(&mut request).unwrap_err();
    assert_eq!(err.direction, Direction::Publish);
    assert_eq!(request.content, PLAINTEXT, "encrypt_req leaves it on error");
}

/// A filter that records the content it sees, in the order of the chain.
struct Recorder(&'static str, Arc<Mutex<Vec<String>>>);

#[async_trait::async_trait]
impl ConfigFilter for Recorder {
    async fn filter(&self, req: Option<&mut ConfigReq>, resp: Option<&mut ConfigResp>) {
        let content = req
            .map(|r| r.content.clone())
            .or_else(|| resp.map(|r| r.content.clone()))
            .unwrap();
        self.1
            .lock()
            .unwrap()
            .push(format!("{}:{}", self.0, content == PLAINTEXT));
    }
}

#[tokio::test]
async fn the_chain_runs_in_insertion_order_both_ways() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let chain: Vec<Box<dyn ConfigFilter>> = vec![
        Box::new(Recorder("before", seen.clone())),
        // The SDK's own encryption filter without plugins: a no-op beside ours.
        Box::new(ConfigEncryptionFilter::new(vec![])),
        Box::new(NacosCryptFilter::new(keyring(DEFAULT_KEY_ID))),
        Box::new(Recorder("after", seen.clone())),
    ];
    let mut request = req(
        "cipher-kms-aes-128-app.yaml",
        "DEFAULT_GROUP",
        "",
        PLAINTEXT,
    );
    publish(&chain, &mut request).await;
    let mut response = resp_of(&request);
    receive(&chain, &mut response).await;
    assert_eq!(response.content, PLAINTEXT);
    // true: the recorder saw plaintext.
    assert_eq!(
        *seen.lock().unwrap(),
        ["before:true", "after:false", "before:false", "after:true"]
    );
}

#[test]
fn it_installs_on_the_sdks_builder() {
    // `build()` would connect to a server; adding the filter does not.
    let filter = NacosCryptFilter::new(keyring(DEFAULT_KEY_ID));
    let builder = ConfigServiceBuilder::new(ClientProps::new().namespace("prod"))
        .add_config_filter(Box::new(filter.clone()));
    drop(builder);
    let boxed: Box<dyn ConfigFilter> = Box::new(filter);
    drop(boxed);
}

/// A KMS that panics: the filter reports it as a KMS failure instead of unwinding into the SDK.
#[derive(Debug)]
struct Panicking;

impl Kms for Panicking {
    fn generate_data_key(
        &self,
        _: &str,
        _: KeySpec,
        _: &Context<'_>,
    ) -> CoreResult<GeneratedDataKey> {
        panic!("boom")
    }
    fn encrypt(&self, _: &str, _: &[u8], _: &Context<'_>) -> CoreResult<String> {
        panic!("boom")
    }
    fn decrypt(&self, _: &str, _: &Context<'_>) -> CoreResult<SecretBytes> {
        panic!("boom")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_panicking_kms_on_the_blocking_pool_is_a_kms_error() {
    let (filter, errors) = recording(NacosCryptFilter::new(Panicking));
    let mut request = req("cipher-token.json", "DEFAULT_GROUP", "", PLAINTEXT);
    filter.filter(Some(&mut request), None).await;
    assert_eq!(request.content, "");
    let errors = errors.lock().unwrap();
    assert_eq!(errors[0].error.kind(), ErrorKind::Kms);
    assert!(errors[0].to_string().contains("the KMS panicked"));
}
