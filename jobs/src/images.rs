//! The image pipeline: sniff, check dimensions before decoding, decode under memory limits,
//! apply EXIF orientation, and write WebP variants (re-encoding drops all metadata, GPS included).

use std::io::Cursor;
use std::sync::Arc;

use forum_domain::adapters::media;
use forum_domain::jobs::{Envelope, ImageJob, Topic};
use forum_domain::model::ImageVariant;
use forum_domain::settings::Config;
use forum_domain::store::images;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use sqlx::PgPool;

use crate::queue::{Handler, JobError};

/// Variant widths; an image narrower than one gets a variant at its own width instead.
pub const WIDTHS: [u32; 3] = [320, 640, 1280];
pub const MAX_SIDE: u32 = 10_000;
pub const MAX_PIXELS: u64 = 40_000_000;
/// Decoder allocations beyond this fail (40 MP × 4 bytes plus room for the decoder's buffers).
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
const WEBP_QUALITY: f32 = 80.0;

/// Why an upload cannot become an image. Final: retrying does not help.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("not a JPEG, PNG, GIF or WebP image")]
    NotAnImage,
    #[error("{width}x{height} is too large (each side at most 10000, at most 40 megapixels)")]
    TooLarge { width: u32, height: u32 },
    #[error("the image is too large to decode within the memory limits")]
    TooLargeToDecode,
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
}

pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub webp: Vec<u8>,
}

pub struct Processed {
    /// After orientation.
    pub width: u32,
    pub height: u32,
    pub variants: Vec<Variant>,
}

/// The widths to render for an image `width` pixels wide: never upscaled, no duplicates.
pub fn target_widths(width: u32) -> Vec<u32> {
    let mut out: Vec<u32> = WIDTHS.iter().map(|w| (*w).min(width)).collect();
    out.dedup();
    out
}

/// Decodes and renders `bytes`. CPU-bound: call on a blocking thread.
pub fn process(bytes: &[u8]) -> Result<Processed, Rejected> {
    if media::sniff(bytes).is_none() {
        return Err(Rejected::NotAnImage);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| Rejected::NotAnImage)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => Rejected::TooLargeToDecode,
        image::ImageError::Unsupported(_) => Rejected::NotAnImage,
        other => Rejected::Corrupt(other.to_string()),
    })?;
    // The header's claim, checked before a single pixel is allocated.
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Rejected::Corrupt("empty image".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Rejected::TooLarge { width, height });
    }
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    decoder
        .set_limits(limits)
        .map_err(|_| Rejected::TooLarge { width, height })?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => Rejected::TooLarge { width, height },
        other => Rejected::Corrupt(other.to_string()),
    })?;
    image.apply_orientation(orientation);
    let (width, height) = (image.width(), image.height());

    // Largest first, each from the one before: far cheaper than three resizes of the original.
    let mut variants = Vec::new();
    let mut source = image;
    for target in target_widths(width).into_iter().rev() {
        let target_height = ((u64::from(height) * u64::from(target) + u64::from(width) / 2)
            / u64::from(width))
        .max(1) as u32;
        let resized = if target == source.width() {
            source.clone()
        } else {
            source.resize_exact(target, target_height, FilterType::Lanczos3)
        };
        variants.push(Variant {
            width: resized.width(),
            height: resized.height(),
            webp: encode_webp(&resized),
        });
        source = resized;
    }
    variants.reverse();
    Ok(Processed {
        width,
        height,
        variants,
    })
}

fn encode_webp(image: &DynamicImage) -> Vec<u8> {
    let (w, h) = (image.width(), image.height());
    if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        webp::Encoder::from_rgba(&rgba, w, h)
            .encode(WEBP_QUALITY)
            .to_vec()
    } else {
        let rgb = image.to_rgb8();
        webp::Encoder::from_rgb(&rgb, w, h)
            .encode(WEBP_QUALITY)
            .to_vec()
    }
}

pub struct ImageHandler {
    pub db: PgPool,
    pub store: Arc<dyn ObjectStore>,
    pub config: Config,
    pub redis: Option<ConnectionManager>,
}

impl Handler for ImageHandler {
    type Job = ImageJob;
    const TOPIC: Topic = Topic::Images;

    async fn handle(&self, envelope: &Envelope<ImageJob>) -> Result<(), JobError> {
        let id = envelope.job.image_id;
        let Some(row) = images::by_id(&self.db, id).await.map_err(JobError::retry)? else {
            // Its post or owner is gone; nothing to do.
            return Ok(());
        };
        if row.state != "pending" {
            return Ok(());
        }
        let original = self
            .store
            .get(&Path::from(row.original_key.as_str()))
            .await
            .map_err(JobError::retry)?
            .bytes()
            .await
            .map_err(JobError::retry)?;
        let processed = tokio::task::spawn_blocking(move || process(&original))
            .await
            .map_err(JobError::retry)?;
        let processed = match processed {
            Ok(p) => p,
            Err(rejected) => {
                tracing::info!(image = %id, reason = %rejected, "image rejected");
                images::mark_failed(&self.db, id, &rejected.to_string())
                    .await
                    .map_err(JobError::retry)?;
                return Ok(());
            }
        };
        let mut variants = Vec::with_capacity(processed.variants.len());
        for v in processed.variants {
            let key = media::variant_key(id, v.width);
            self.store
                .put(&Path::from(key.as_str()), v.webp.into())
                .await
                .map_err(JobError::retry)?;
            variants.push(ImageVariant {
                width: v.width,
                height: v.height,
                url: media::url(&self.config, &key),
            });
        }
        let ready = images::mark_ready(&self.db, id, processed.width, processed.height, &variants)
            .await
            .map_err(JobError::retry)?;
        if let (Some(row), Some(redis)) = (ready, &self.redis)
            && let Some(post) = row.post_id
        {
            // The API caches post details; drop the stale copy (listings refresh on their TTL).
            let key = format!(
                "{}{}",
                self.config.settings.redis.prefix,
                forum_domain::cache_keys::post_detail(post)
            );
            let _: Result<(), _> = redis.clone().del(key).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_are_never_upscaled() {
        assert_eq!(target_widths(4000), vec![320, 640, 1280]);
        assert_eq!(target_widths(1000), vec![320, 640, 1000]);
        assert_eq!(target_widths(500), vec![320, 500]);
        assert_eq!(target_widths(320), vec![320]);
        assert_eq!(target_widths(100), vec![100]);
    }

    #[test]
    fn a_png_header_claiming_50000_squared_is_refused_before_decoding() {
        let mut png = Vec::new();
        DynamicImage::new_rgba8(1, 1)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        png[16..20].copy_from_slice(&50_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&50_000u32.to_be_bytes());
        let crc = crc32fast::hash(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            process(&png).err(),
            Some(Rejected::TooLarge {
                width: 50_000,
                height: 50_000
            })
        );
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(process(b"just some text").err(), Some(Rejected::NotAnImage));
    }

    #[test]
    fn a_small_png_becomes_one_webp_variant_at_its_own_width() {
        let img = DynamicImage::new_rgb8(200, 100);
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let out = process(&png).unwrap();
        assert_eq!((out.width, out.height), (200, 100));
        assert_eq!(out.variants.len(), 1);
        assert_eq!((out.variants[0].width, out.variants[0].height), (200, 100));
        assert_eq!(&out.variants[0].webp[8..12], b"WEBP");
    }
}
