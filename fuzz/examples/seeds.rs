//! Writes the seed corpora of the fuzz targets, one folder per target, under the folder given
//! as the only argument (run.sh passes `fuzz/seeds`).
//!
//! Every seed is synthetic and small: the real data and weights files are too large to fuzz
//! well, and they are not part of this repository.

use catvnoncat::data::{CatData, ImageSet, pack};
use catvnoncat::weights::{LAYER_CHANNELS, LAYER_NAMES};
use hdf5_pure::FileBuilder;
use image::{DynamicImage, ImageEncoder, ImageFormat, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use prost::Message;
use safetensors::tensor::{Dtype, TensorView};
use std::io::Cursor;
use std::path::Path;

#[path = "../../tests/common/exif.rs"]
mod exif;
use exif::exif_orientation;

type Seeds = Vec<(&'static str, Vec<u8>)>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: seeds OUTPUT_DIR (one folder per fuzz target is written there)")?;
    let dir = Path::new(&dir);

    let targets: [(&str, Seeds); 6] = [
        ("images", image_seeds()?),
        ("data_pack", vec![("small.bin", pack::pack(&small_data()))]),
        ("data_hdf5", hdf5_seeds()?),
        ("weights_safetensors", safetensors_seeds()?),
        ("weights_onnx", onnx_seeds()),
        ("weights_keras_h5", keras_h5_seeds()?),
    ];
    for (target, seeds) in targets {
        let target_dir = dir.join(target);
        std::fs::create_dir_all(&target_dir)?;
        for (name, bytes) in &seeds {
            std::fs::write(target_dir.join(name), bytes)?;
        }
        println!("{target}: {} seeds in {}", seeds.len(), target_dir.display());
    }
    Ok(())
}

/// Builds a 12x8 image with a different colour in each quadrant, so that orientation matters.
fn quadrants() -> RgbImage {
    RgbImage::from_fn(12, 8, |x, y| match (x < 6, y < 4) {
        (true, true) => Rgb([220, 30, 30]),
        (false, true) => Rgb([30, 220, 30]),
        (true, false) => Rgb([30, 30, 220]),
        (false, false) => Rgb([240, 240, 240]),
    })
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, image::ImageError> {
    let mut bytes = Cursor::new(Vec::new());
    image.write_to(&mut bytes, format)?;
    Ok(bytes.into_inner())
}

fn image_seeds() -> Result<Seeds, Box<dyn std::error::Error>> {
    let rgb = DynamicImage::ImageRgb8(quadrants());
    let rgba = DynamicImage::ImageRgba8(RgbaImage::from_fn(8, 8, |x, _| Rgba([200, 10, 10, (x * 32) as u8])));
    let gray = DynamicImage::ImageLuma8(image::GrayImage::from_fn(8, 8, |x, y| Luma([(x * 30 + y) as u8])));
    let gray16 = DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(8, 8, |x, _| Luma([(x * 8000) as u16])));

    let mut jpeg_exif = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new(&mut jpeg_exif);
    encoder.set_exif_metadata(exif_orientation(6))?;
    encoder.write_image(quadrants().as_raw(), 12, 8, image::ExtendedColorType::Rgb8)?;

    Ok(vec![
        ("rgb.png", encode(&rgb, ImageFormat::Png)?),
        ("rgba.png", encode(&rgba, ImageFormat::Png)?),
        ("gray.png", encode(&gray, ImageFormat::Png)?),
        ("gray16.png", encode(&gray16, ImageFormat::Png)?),
        ("palette.png", palette_png()?),
        ("rgb.jpg", encode(&rgb, ImageFormat::Jpeg)?),
        ("gray.jpg", encode(&gray, ImageFormat::Jpeg)?),
        ("rotated.jpg", jpeg_exif),
        ("rgba.gif", encode(&rgba, ImageFormat::Gif)?),
        ("rgba.webp", encode(&rgba, ImageFormat::WebP)?),
        ("rgb.bmp", encode(&rgb, ImageFormat::Bmp)?),
    ])
}

fn palette_png() -> Result<Vec<u8>, png::EncodingError> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, 4, 4);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]);
    encoder.set_trns(vec![255, 128, 0]);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&[0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0])?;
    writer.finish()?;
    Ok(bytes)
}

/// Builds a data set of three training and two test images of 4x4 pixels.
fn small_data() -> CatData {
    let set = |labels: Vec<u8>| ImageSet {
        pixels: (0..labels.len() * 4 * 4 * 3).map(|i| i as u8).collect(),
        labels,
        height: 4,
        width: 4,
    };
    CatData {
        classes: vec!["non-cat".to_string(), "cat".to_string()],
        train: set(vec![0, 1, 1]),
        test: set(vec![1, 0]),
    }
}

/// Writes two training files in the published layout: one with two images, and one with a
/// single image and an extra `test_set_y` dataset.
fn hdf5_seeds() -> Result<Seeds, hdf5_pure::Error> {
    let write = |labels: &[i64], extra: bool| -> Result<Vec<u8>, hdf5_pure::Error> {
        let count = labels.len() as u64;
        let mut builder = FileBuilder::new();
        builder
            .create_dataset("train_set_x")
            .with_u8_data(&vec![7u8; (count * 64 * 64 * 3) as usize])
            .with_shape(&[count, 64, 64, 3]);
        builder.create_dataset("train_set_y").with_i64_data(labels).with_shape(&[count]);
        builder.create_dataset("list_classes").with_ascii_strings(&["non-cat", "cat"])?;
        if extra {
            builder.create_dataset("test_set_y").with_i64_data(labels).with_shape(&[count]);
        }
        builder.finish()
    };
    Ok(vec![("train2.h5", write(&[0, 1], false)?), ("train1.h5", write(&[1], true)?)])
}

/// Lists the shapes of every layer's kernel and bias: block1_conv1 at its real size and the
/// rest as one value each, so that a seed stays small but still reaches the second layer.
fn layer_shapes() -> Vec<(&'static str, Vec<usize>, Vec<usize>)> {
    LAYER_NAMES
        .iter()
        .zip(LAYER_CHANNELS)
        .enumerate()
        .map(|(index, (&name, (input, output)))| {
            if index == 0 {
                (name, vec![output, input, 3, 3], vec![output])
            } else {
                (name, vec![1], vec![1])
            }
        })
        .collect()
}

fn safetensors_seeds() -> Result<Seeds, safetensors::SafeTensorError> {
    let mut buffers = Vec::new();
    for (name, kernel_shape, bias_shape) in layer_shapes() {
        for (suffix, shape) in [("kernel", kernel_shape), ("bias", bias_shape)] {
            let bytes = vec![0u8; shape.iter().product::<usize>() * 4];
            buffers.push((format!("{name}.{suffix}"), shape, bytes));
        }
    }
    let views: Vec<(String, TensorView)> = buffers
        .iter()
        .map(|(name, shape, bytes)| Ok((name.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes)?)))
        .collect::<Result<_, safetensors::SafeTensorError>>()?;
    Ok(vec![("layers.safetensors", safetensors::serialize(views, None)?)])
}

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
}

/// Builds ONNX models whose initializers carry the tf2onnx names of the VGG16 layers, with values
/// as raw bytes in one seed and as `float_data` in the other.
fn onnx_seeds() -> Seeds {
    let model = |raw: bool| {
        let mut initializer = Vec::new();
        for (name, kernel_shape, bias_shape) in layer_shapes() {
            let tensors = [
                (format!("functional_1/{name}_1/convolution/ReadVariableOp:0"), kernel_shape),
                (format!("functional_1/{name}_1/Squeeze:0"), bias_shape),
            ];
            for (tensor_name, shape) in tensors {
                let count: usize = shape.iter().product();
                initializer.push(TensorProto {
                    dims: shape.iter().map(|&dim| dim as i64).collect(),
                    data_type: 1,
                    float_data: if raw { Vec::new() } else { vec![0.5; count] },
                    name: tensor_name,
                    raw_data: if raw { vec![0; count * 4] } else { Vec::new() },
                });
            }
        }
        ModelProto {
            graph: Some(GraphProto { initializer }),
        }
        .encode_to_vec()
    };
    vec![("raw.onnx", model(true)), ("floats.onnx", model(false))]
}

/// Writes a file in the Keras 2 layout: one group per layer with `NAME_W_1:0` and `NAME_b_1:0`.
fn keras_h5_seeds() -> Result<Seeds, hdf5_pure::Error> {
    let mut builder = FileBuilder::new();
    for (index, (name, _, bias_shape)) in layer_shapes().into_iter().enumerate() {
        let (input, output) = LAYER_CHANNELS[index];
        let kernel_shape: Vec<u64> = if index == 0 { vec![3, 3, input as u64, output as u64] } else { vec![1, 1, 1, 1] };
        let kernel_len = kernel_shape.iter().product::<u64>() as usize;
        let mut group = builder.create_group(name);
        group
            .create_dataset(&format!("{name}_W_1:0"))
            .with_f32_data(&vec![0.25; kernel_len])
            .with_shape(&kernel_shape);
        group
            .create_dataset(&format!("{name}_b_1:0"))
            .with_f32_data(&vec![0.5; bias_shape[0]])
            .with_shape(&[bias_shape[0] as u64]);
        builder.add_group(group.finish());
    }
    Ok(vec![("layers.h5", builder.finish()?)])
}
