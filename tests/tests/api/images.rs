//! Uploads and the image pipeline, end to end: API -> object store -> outbox -> Redis queue ->
//! worker -> WebP variants served under /media/.

use std::io::Cursor;
use std::time::Duration;

use forum_tests::reqwest::StatusCode;
use forum_tests::wire::{Image, UploadAccepted};
use forum_tests::{SmtpSink, TestApp, eventually, problem, refused};
use image::{ImageEncoder, Rgb, RgbImage};
use uuid::Uuid;

/// A TIFF/EXIF block (big-endian) with Orientation = 6 and a GPS IFD holding a latitude ref.
fn exif_orientation_6_with_gps() -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08");
    // IFD0 at 8: two entries.
    t.extend_from_slice(&2u16.to_be_bytes());
    // Orientation (0x0112), SHORT, 1, value 6.
    t.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0]);
    // GPSInfo IFD pointer (0x8825), LONG, 1, offset 38.
    t.extend_from_slice(&[0x88, 0x25, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 38]);
    t.extend_from_slice(&0u32.to_be_bytes());
    // GPS IFD at 38: GPSLatitudeRef (1), ASCII, 2, "N\0".
    t.extend_from_slice(&1u16.to_be_bytes());
    t.extend_from_slice(&[0x00, 0x01, 0x00, 0x02, 0, 0, 0, 2, b'N', 0, 0, 0]);
    t.extend_from_slice(&0u32.to_be_bytes());
    t
}

/// A 1600x800 JPEG, red on the left half and blue on the right, tagged "rotate 90° clockwise"
/// and with a GPS position. Shown upright it is 800x1600: red on top, blue at the bottom.
fn rotated_jpeg_with_gps() -> Vec<u8> {
    let img = RgbImage::from_fn(1600, 800, |x, _| {
        if x < 800 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .write_image(&img, 1600, 800, image::ExtendedColorType::Rgb8)
        .unwrap();
    let exif = exif_orientation_6_with_gps();
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((exif.len() + 8) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&exif);
    // Right after SOI.
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A real 1x1 PNG whose header was changed to claim 50,000 x 50,000 RGBA (10 GB decoded).
fn png_bomb_header() -> Vec<u8> {
    let mut png = Vec::new();
    image::DynamicImage::new_rgba8(1, 1)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    // Signature (8), IHDR length (4), "IHDR" at 12, width at 16, height at 20, CRC at 29.
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

async fn wait_processed(app: &TestApp, id: Uuid) -> Image {
    eventually("the image job", Duration::from_secs(60), || async {
        let image: Image = app.get_as(&format!("/api/v1/images/{id}"), None).await;
        (image.state != "pending").then_some(image)
    })
    .await
}

#[tokio::test]
async fn a_rotated_jpeg_with_gps_becomes_upright_webp_variants_without_metadata() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn().await;
    let _workers = app.workers(smtp.port, None);
    let alice = app.register("photographer").await;
    app.create_community(&alice.access_token, "pictures").await;
    let post_id = app
        .create_post_view(&alice.access_token, "pictures", "A view", "")
        .await
        .id;

    let res = app
        .upload(
            &format!("/api/v1/posts/{post_id}/images"),
            &alice.access_token,
            &rotated_jpeg_with_gps(),
            None,
        )
        .await;
    let accepted: UploadAccepted = TestApp::expect(res, StatusCode::ACCEPTED).await;
    assert_eq!(accepted.image.state, "pending", "{accepted:?}");
    assert_eq!(accepted.state, "pending", "{accepted:?}");
    let id = accepted.image.id;

    let image = wait_processed(&app, id).await;
    assert_eq!(image.state, "ready", "{image:?}");
    // Upright: the EXIF orientation was applied.
    assert_eq!((image.width, image.height), (Some(800), Some(1600)));
    let sizes: Vec<(u32, u32)> = image.variants.iter().map(|v| (v.width, v.height)).collect();
    // 320 and 640 as asked, and 800 instead of 1280: never upscaled.
    assert_eq!(sizes, vec![(320, 640), (640, 1280), (800, 1600)]);

    for v in &image.variants {
        let url = v.url.as_str();
        assert!(url.starts_with("/media/images/"), "{url}");
        let res = app.get(url, None).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "image/webp");
        let bytes = res.bytes().await.unwrap();
        assert_eq!(&bytes[8..12], b"WEBP");
        // No EXIF chunk, no GPS: nothing of the original's metadata survives.
        for needle in [&b"EXIF"[..], b"Exif", b"XMP ", b"MM\x00\x2a"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{url} carries {needle:?}"
            );
        }
        let decoded = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!((decoded.width(), decoded.height()), (v.width, v.height));
        // Rotated clockwise: the left (red) half is now on top.
        let top = decoded.get_pixel(decoded.width() / 2, decoded.height() / 8);
        let bottom = decoded.get_pixel(decoded.width() / 2, decoded.height() * 7 / 8);
        assert!(top[0] > 150 && top[2] < 100, "top is red: {top:?}");
        assert!(
            bottom[2] > 150 && bottom[0] < 100,
            "bottom is blue: {bottom:?}"
        );
    }

    // The original (with its GPS tag) is never served.
    let res = app.get(&format!("/media/originals/{id}"), None).await;
    problem(res, StatusCode::NOT_FOUND).await;

    // The post shows the ready image.
    let shown = app.post_view(&post_id.to_string(), None).await;
    let first = shown.images.first();
    assert_eq!(first.map(|i| i.id), Some(id), "{shown:?}");
    assert_eq!(first.map(|i| i.state.as_str()), Some("ready"));
}

#[tokio::test]
async fn a_png_claiming_50000_squared_fails_cleanly_and_text_is_refused_with_415() {
    let smtp = SmtpSink::start();
    let app = TestApp::spawn().await;
    let _workers = app.workers(smtp.port, None);
    let bob = app.register("bomber").await;

    let res = app
        .upload(
            "/api/v1/me/avatar",
            &bob.access_token,
            &png_bomb_header(),
            None,
        )
        .await;
    let accepted: UploadAccepted = TestApp::expect(res, StatusCode::ACCEPTED).await;
    let image = wait_processed(&app, accepted.image.id).await;
    assert_eq!(image.state, "failed", "{image:?}");
    assert!(
        image
            .error
            .as_deref()
            .is_some_and(|e| e.contains("too large")),
        "{image:?}"
    );
    // The job ended normally (the image failed, not the job): nothing dead, nothing retrying.
    let mut redis = app.redis().await;
    let dead: u64 = redis::cmd("HLEN")
        .arg(format!(
            "{}images:forum:dead",
            app.config.settings.redis.prefix
        ))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(dead, 0);

    let res = app
        .upload(
            "/api/v1/me/avatar",
            &bob.access_token,
            b"just a text file, not an image\n",
            None,
        )
        .await;
    let body = refused(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(body.code, "unsupported_media_type");

    // Not multipart at all.
    let res = app
        .post(
            "/api/v1/me/avatar",
            &forum_tests::serde_json::json!({}),
            Some(&bob.access_token),
        )
        .await;
    problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn avatars_replace_the_profile_picture_and_uploads_are_limited_and_idempotent() {
    let smtp = SmtpSink::start();
    let app = TestApp::builder()
        .settings(|s| s.media.upload_max_bytes = 200_000)
        .spawn()
        .await;
    let _workers = app.workers(smtp.port, None);
    let carol = app.register("portrait").await;
    let mut png = Vec::new();
    image::DynamicImage::new_rgb8(300, 200)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();

    let first = app
        .upload(
            "/api/v1/me/avatar",
            &carol.access_token,
            &png,
            Some("avatar-1"),
        )
        .await;
    let first: UploadAccepted = TestApp::expect(first, StatusCode::ACCEPTED).await;
    let again = app
        .upload(
            "/api/v1/me/avatar",
            &carol.access_token,
            &png,
            Some("avatar-1"),
        )
        .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: UploadAccepted = TestApp::expect(again, StatusCode::ACCEPTED).await;
    assert_eq!(first.image.id, again.image.id);

    let image = wait_processed(&app, first.image.id).await;
    assert_eq!(image.state, "ready", "{image:?}");
    let profile = app.profile("portrait").await;
    assert_eq!(profile.avatar, image.url, "{profile:?}");
    assert!(
        profile
            .avatar
            .as_deref()
            .is_some_and(|a| a.ends_with("/300.webp")),
        "{profile:?}"
    );

    // Over the limit: 413 before anything is stored.
    let big = vec![0xFFu8; 300_000];
    let res = app
        .upload("/api/v1/me/avatar", &carol.access_token, &big, None)
        .await;
    problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Only the author adds images to a post.
    app.create_community(&carol.access_token, "portraits").await;
    let post = app
        .create_post_view(&carol.access_token, "portraits", "Me", "")
        .await;
    let mallory = app.register("notauthor").await;
    let res = app
        .upload(
            &format!("/api/v1/posts/{}/images", post.id),
            &mallory.access_token,
            &png,
            None,
        )
        .await;
    problem(res, StatusCode::FORBIDDEN).await;
}
