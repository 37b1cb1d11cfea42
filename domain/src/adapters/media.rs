//! Object storage for uploads and their variants, and recognising image formats by their bytes.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use secrecy::ExposeSecret;

use crate::settings::Config;

/// The formats we accept, recognised from their first bytes (never from a name or a header the
/// client chose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Jpeg,
    Png,
    Gif,
    WebP,
}

impl ImageFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::WebP => "webp",
        }
    }
}

/// The format of `bytes` by its signature; `None` for anything else.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(ImageFormat::Gif),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Where an upload's original is kept.
pub fn original_key(image_id: uuid::Uuid) -> String {
    format!("originals/{image_id}")
}

/// Where a variant of `width` pixels is kept.
pub fn variant_key(image_id: uuid::Uuid, width: u32) -> String {
    format!("images/{image_id}/{width}.webp")
}

/// The public URL of a stored object.
pub fn url(config: &Config, key: &str) -> String {
    format!("{}/{key}", config.settings.media.url.trim_end_matches('/'))
}

/// The configured store: S3-compatible when `s3_bucket` is set, else a local folder.
pub fn store(config: &Config) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    let s = &config.settings;
    if let Some(bucket) = &s.media.s3_bucket {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&s.media.s3_region);
        if let Some(endpoint) = &s.media.s3_endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let (Some(id), Some(secret)) = (
            &config.secrets.s3_access_key_id,
            &config.secrets.s3_secret_access_key,
        ) {
            builder = builder
                .with_access_key_id(id.expose_secret())
                .with_secret_access_key(secret.expose_secret());
        }
        return Ok(Arc::new(builder.build()?));
    }
    std::fs::create_dir_all(&s.media.dir).map_err(|e| object_store::Error::Generic {
        store: "local",
        source: Box::new(e),
    })?;
    Ok(Arc::new(LocalFileSystem::new_with_prefix(&s.media.dir)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_accepted_formats_only() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageFormat::Jpeg));
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageFormat::Png)
        );
        assert_eq!(sniff(b"GIF89a...."), Some(ImageFormat::Gif));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(ImageFormat::WebP));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"hello, I am text"), None);
        assert_eq!(sniff(b"<svg xmlns=..."), None);
        assert_eq!(sniff(&[]), None);
    }
}
