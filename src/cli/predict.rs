//! `predict`: classify image files with a trained head.

use super::CliResult;
use super::args::PredictArgs;
use super::train::load_base;
use burn::tensor::{Device, Tensor, TensorData};
use catvnoncat::block_on;
use catvnoncat::data::{CHANNELS, CLASS_NAMES};
use catvnoncat::images::{DecodeLimits, decode_rgb};
use catvnoncat::metrics::THRESHOLD;
use catvnoncat::model::load_head;
use serde_json::json;
use std::process::ExitCode;

pub fn predict(args: PredictArgs) -> CliResult {
    let device = Device::flex();
    let head_bytes = std::fs::read(&args.head).map_err(|error| {
        format!("cannot read the head {}: {error}; train one with `catvnoncat train` first", args.head.display())
    })?;
    let (head, settings) = load_head(&head_bytes, &args.head.display().to_string(), &device)?;
    let base = load_base(&args.weights, &device)?;
    let size = settings.input_size;
    let limits = DecodeLimits::default();

    let mut failures = 0;
    for path in &args.images {
        let name = path.display().to_string();
        let pixels = std::fs::read(path)
            .map_err(|error| format!("cannot read the file: {error}"))
            .and_then(|bytes| decode_rgb(&bytes, size.width as u32, size.height as u32, &limits).map_err(|error| error.to_string()));
        let pixels = match pixels {
            Ok(pixels) => pixels,
            Err(message) => {
                failures += 1;
                if args.json {
                    println!("{}", json!({ "file": name, "error": message }));
                } else {
                    eprintln!("{name}: error: {message}");
                }
                continue;
            }
        };

        let values: Vec<f32> = pixels.into_iter().map(f32::from).collect();
        let input = Tensor::<4>::from_data(TensorData::new(values, [1, size.height, size.width, CHANNELS]), &device);
        let probability_tensor = head.cat_probability(head.forward(base.forward(input)));
        let probability = block_on(probability_tensor.into_data_async())
            .map_err(|error| format!("reading the prediction failed: {error:?}"))?
            .try_to_vec::<f32>()
            .map_err(|error| format!("unexpected element type: {error:?}"))?[0];
        let class = CLASS_NAMES[usize::from(probability >= THRESHOLD)];

        if args.json {
            println!("{}", json!({ "file": name, "class": class, "cat_probability": probability }));
        } else {
            println!("{name}: {class} (cat probability {probability:.4})");
        }
    }

    Ok(if failures == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
