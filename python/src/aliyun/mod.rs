//! Alibaba Cloud KMS (the `nacoscrypt-kms-aliyun` crate) as Python objects that every config
//! function accepts, like `LocalKms`: `AliyunKms` (the OpenAPI) and `AliyunInstanceKms` (a KMS
//! 3.0 instance).

mod instance;
mod open_api;

pub(crate) use instance::AliyunInstanceKms;
pub(crate) use open_api::AliyunKms;
