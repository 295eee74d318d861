//! The VGG16 base against block5_pool outputs computed independently with ONNX Runtime.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use catvnoncat::model::{InputSize, Vgg16Base};
use catvnoncat::training::features::batch_pixels;
use serde::Deserialize;

#[derive(Deserialize)]
struct Golden {
    shape: Vec<usize>,
    labels: Vec<u8>,
    pool5: Vec<Vec<f32>>,
    global_average_pool: Vec<Vec<f32>>,
}

fn golden() -> Golden {
    let path = common::reference_dir().join("golden_pool5_train0-3.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn block5_pool(count: usize) -> Vec<f32> {
    let device = Device::flex();
    let base = Vgg16Base::new(common::weights(), &device);
    let input = InputSize::default();
    let pixels = batch_pixels(&common::data().train, 0..count, input);
    let batch = Tensor::<4>::from_data(TensorData::new(pixels, [count, 64, 64, 3]), &device);
    base.forward(batch).into_data().try_to_vec::<f32>().unwrap()
}

/// Returns the largest absolute difference divided by the largest reference magnitude.
fn relative_error(got: &[f32], expected: &[f32]) -> f32 {
    assert_eq!(got.len(), expected.len());
    let scale = expected.iter().fold(0.0f32, |max, value| max.max(value.abs()));
    let worst = got.iter().zip(expected).fold(0.0f32, |max, (a, b)| max.max((a - b).abs()));
    worst / scale
}

#[test]
fn block5_pool_matches_onnx_runtime() {
    let golden = golden();
    assert_eq!(golden.shape, [4, 512, 2, 2]);
    assert_eq!(golden.labels, common::data().train.labels[..4]);

    let got = block5_pool(4);
    for (image, expected) in golden.pool5.iter().enumerate() {
        let per_image = &got[image * 2048..(image + 1) * 2048];
        let error = relative_error(per_image, expected);
        assert!(error < 1e-4, "image {image}: relative error {error:e}");
    }
}

#[test]
fn global_average_matches_onnx_runtime() {
    let golden = golden();
    let got = block5_pool(4);
    for (image, expected) in golden.global_average_pool.iter().enumerate() {
        let averages: Vec<f32> = got[image * 2048..(image + 1) * 2048]
            .chunks_exact(4)
            .map(|cell| cell.iter().sum::<f32>() / 4.0)
            .collect();
        let error = relative_error(&averages, expected);
        assert!(error < 1e-4, "image {image}: relative error {error:e}");
    }
}

#[test]
fn larger_input_gives_larger_feature_map() {
    let device = Device::flex();
    let base = Vgg16Base::new(common::weights(), &device);
    let input = InputSize::square(96);
    let pixels = batch_pixels(&common::data().train, 0..1, input);
    let output = base.forward(Tensor::from_data(TensorData::new(pixels, [1, 96, 96, 3]), &device));
    assert_eq!(output.dims(), [1, 512, 3, 3]);
}
