//! Throughput of the VGG16 base on Burn's CPU backend (`Device::flex()`), on the real images.
//!
//! Run by `./build.sh bench` as
//! `cargo bench --bench vgg16_base -- [--sizes 64,224] [--batches 1,32] [--min-seconds S] [--out-dir DIR]`.
//! For each input size it writes the 32 input images to the output folder, exactly as the base
//! gets them (`inputs_SIZE.f32`, NHWC RGB float32), and their features (`features_SIZE.f32`,
//! NCHW float32). bench/native.py runs ONNX Runtime on the same inputs and compares outputs.
//! The bench prints one JSON object with images/s per size and batch on stdout.

use burn::tensor::{Device, Tensor, TensorData};
use catvnoncat::block_on;
use catvnoncat::data::{CHANNELS, ImageSet, pack};
use catvnoncat::model::{InputSize, Vgg16Base};
use catvnoncat::training::features::batch_pixels;
use catvnoncat::weights::store;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Images written for the comparison with ONNX Runtime, and the size of the largest batch.
const SAMPLE_IMAGES: usize = 32;

struct Settings {
    sizes: Vec<usize>,
    batches: Vec<usize>,
    min_seconds: f64,
    weights: PathBuf,
    data: PathBuf,
    out_dir: PathBuf,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    catvnoncat::allocator::keep_freed_memory();
    let settings = parse_args(std::env::args().skip(1))?;
    let device = Device::flex();

    let weights_bytes = std::fs::read(&settings.weights)
        .map_err(|error| format!("cannot read {}: {error}; run ./build.sh weights", settings.weights.display()))?;
    let weights = store::from_safetensors(&weights_bytes, &settings.weights.display().to_string())?;
    let base = Vgg16Base::new(&weights, &device);

    let data_bytes = std::fs::read(&settings.data)
        .map_err(|error| format!("cannot read {}: {error}; run ./build.sh data", settings.data.display()))?;
    let data = pack::unpack(&data_bytes, &settings.data.display().to_string())?;
    let sample = data.train.subset(&(0..SAMPLE_IMAGES).collect::<Vec<_>>());
    std::fs::create_dir_all(&settings.out_dir)?;

    let mut results = Map::new();
    for &side in &settings.sizes {
        let input = InputSize::square(side);
        input.validate()?;
        let pixels = batch_pixels(&sample, 0..SAMPLE_IMAGES, input);
        write_f32(&settings.out_dir.join(format!("inputs_{side}.f32")), &pixels)?;

        let started = Instant::now();
        let features = forward(&base, &pixels, SAMPLE_IMAGES, input, &device);
        eprintln!("native {side}x{side}: first batch of {SAMPLE_IMAGES} in {:.2} s", started.elapsed().as_secs_f64());
        write_f32(&settings.out_dir.join(format!("features_{side}.f32")), &features)?;

        for &batch in &settings.batches {
            let rate = images_per_second(&base, &sample, batch, input, settings.min_seconds, &device);
            eprintln!("native {side}x{side} batch {batch}: {rate:.2} images/s");
            results.insert(format!("native_cpu_img_s_{side}_b{batch}"), json!(rate));
        }
    }
    results.insert("native_threads".to_string(), json!(std::thread::available_parallelism()?.get()));
    println!("{}", Value::Object(results));
    Ok(())
}

/// Runs the base on `count` images of `pixels` (NHWC) and returns the features.
fn forward(base: &Vgg16Base, pixels: &[f32], count: usize, input: InputSize, device: &Device) -> Vec<f32> {
    let shape = [count, input.height, input.width, CHANNELS];
    let batch = Tensor::<4>::from_data(TensorData::new(pixels.to_vec(), shape), device);
    let data = block_on(base.forward(batch).into_data_async()).expect("the CPU backend reads back its own tensors");
    data.try_to_vec::<f32>().expect("the base outputs float32")
}

/// Measures images/s at one batch size after one warm-up batch, over at least `min_seconds`
/// and at least two batches. Pixel conversion and resizing are outside the timed part.
fn images_per_second(base: &Vgg16Base, sample: &ImageSet, batch: usize, input: InputSize, min_seconds: f64, device: &Device) -> f64 {
    let batches: Vec<Vec<f32>> = (0..SAMPLE_IMAGES / batch.min(SAMPLE_IMAGES))
        .map(|index| batch_pixels(sample, index * batch..(index + 1) * batch, input))
        .collect();
    forward(base, &batches[0], batch, input, device);

    let started = Instant::now();
    let mut images = 0;
    let mut runs = 0;
    while runs < 2 || started.elapsed().as_secs_f64() < min_seconds {
        forward(base, &batches[runs % batches.len()], batch, input, device);
        images += batch;
        runs += 1;
    }
    images as f64 / started.elapsed().as_secs_f64()
}

fn write_f32(path: &Path, values: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

fn parse_list(text: &str, flag: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|part| part.trim().parse().map_err(|_| format!("invalid {flag} value {part:?}: expected whole numbers separated by commas")))
        .collect()
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Settings, String> {
    let mut settings = Settings {
        sizes: vec![64, 224],
        batches: vec![1, SAMPLE_IMAGES],
        min_seconds: 10.0,
        weights: PathBuf::from("weights/vgg16_notop.safetensors"),
        data: PathBuf::from("www/data/catvnoncat.bin"),
        out_dir: PathBuf::from("target/bench/native"),
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        // cargo bench passes --bench to every bench target.
        if flag == "--bench" {
            continue;
        }
        let value = args.next().ok_or_else(|| format!("missing value after {flag}"))?;
        match flag.as_str() {
            "--sizes" => settings.sizes = parse_list(&value, &flag)?,
            "--batches" => settings.batches = parse_list(&value, &flag)?,
            "--min-seconds" => {
                settings.min_seconds = value.parse().map_err(|_| format!("invalid --min-seconds value {value:?}: expected seconds"))?
            }
            "--weights" => settings.weights = PathBuf::from(value),
            "--data" => settings.data = PathBuf::from(value),
            "--out-dir" => settings.out_dir = PathBuf::from(value),
            other => return Err(format!("unknown argument {other:?}; expected --sizes, --batches, --min-seconds, --weights, --data or --out-dir")),
        }
    }
    if let Some(batch) = settings.batches.iter().find(|&&batch| batch == 0 || SAMPLE_IMAGES % batch != 0) {
        return Err(format!("invalid batch size {batch}: it must divide {SAMPLE_IMAGES}"));
    }
    Ok(settings)
}
