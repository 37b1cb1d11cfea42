//! Time to turn one 12 MP JPEG into its WebP variants (the images job's CPU work).
//!
//! `cargo run --release -p forum-benches --bin image-pipeline -- [runs]` (default 5).

use std::io::Cursor;
use std::time::Instant;

use image::{ImageEncoder, Rgb, RgbImage};

fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(5);
    // 4000 x 3000 with smooth gradients and some texture, like a photo more than a flat fill.
    let img = RgbImage::from_fn(4000, 3000, |x, y| {
        let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) % 32;
        Rgb([
            ((x / 16) % 256) as u8 ^ n as u8,
            ((y / 12) % 256) as u8,
            (((x + y) / 28) % 256) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut jpeg), 90)
        .write_image(&img, 4000, 3000, image::ExtendedColorType::Rgb8)?;
    println!("input: 4000x3000 JPEG, {:.1} MB", jpeg.len() as f64 / 1e6);
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let out = forum_jobs::images::process(&jpeg).map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        let sizes: Vec<String> = out
            .variants
            .iter()
            .map(|v| format!("{}x{} {} KB", v.width, v.height, v.webp.len() / 1000))
            .collect();
        println!("variants: {}", sizes.join(", "));
    }
    times.sort_by(f64::total_cmp);
    println!(
        "12 MP JPEG -> 3 WebP variants: median {:.0} ms, min {:.0} ms, max {:.0} ms over {runs} runs",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    Ok(())
}
