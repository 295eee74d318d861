//! Features of the frozen base, computed once per image and cached for training.

use crate::data::{CHANNELS, ImageSet};
use crate::model::{InputSize, Vgg16Base};
use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use image::imageops::FilterType;

/// Cached `block5_pool` features of a set of images, with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Values of all images, each `channels * height * width` floats in CHW order.
    pub values: Vec<f32>,
    /// `[channels, height, width]` of one image's features.
    pub shape: [usize; 3],
    /// One label per image: 1 for cat, 0 for non-cat.
    pub labels: Vec<u8>,
}

impl Features {
    /// Returns the number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Returns true if there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Returns the number of values of one image.
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Returns the features of the images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Features {
        let size = self.image_len();
        let mut values = Vec::with_capacity(indices.len() * size);
        for &index in indices {
            values.extend_from_slice(&self.values[index * size..(index + 1) * size]);
        }
        Features {
            values,
            shape: self.shape,
            labels: indices.iter().map(|&index| self.labels[index]).collect(),
        }
    }

    /// Builds the `[indices.len(), channels, height, width]` tensor of the chosen images.
    pub fn batch_tensor(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        let subset = self.subset(indices);
        let [channels, height, width] = self.shape;
        Tensor::from_data(TensorData::new(subset.values, [indices.len(), channels, height, width]), device)
    }

    /// Builds the `[indices.len()]` tensor of labels as 0.0 and 1.0.
    pub fn label_tensor(&self, indices: &[usize], device: &Device) -> Tensor<1> {
        let labels: Vec<f32> = indices.iter().map(|&index| f32::from(self.labels[index])).collect();
        Tensor::from_data(TensorData::new(labels, [indices.len()]), device)
    }
}

/// Runs the base over all images in batches and caches the outputs.
///
/// Images whose size differs from `input` are resized first (bilinear). `progress` is called
/// after each batch with the number of images done and the total.
pub async fn extract_features(
    base: &Vgg16Base,
    images: &ImageSet,
    input: InputSize,
    batch_size: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Features, String> {
    let total = images.len();
    let shape = input.feature_shape();
    let mut values = Vec::with_capacity(total * shape.iter().product::<usize>());
    let batch_size = batch_size.max(1);

    let mut start = 0;
    while start < total {
        let end = (start + batch_size).min(total);
        let pixels = batch_pixels(images, start..end, input);
        let batch = Tensor::<4>::from_data(TensorData::new(pixels, [end - start, input.height, input.width, CHANNELS]), device);

        let output = base.forward(batch);
        let data = output
            .into_data_async()
            .await
            .map_err(|error| format!("reading features from the device failed: {error:?}"))?;
        let batch_values = data
            .try_to_vec::<f32>()
            .map_err(|error| format!("features have an unexpected element type: {error:?}"))?;
        values.extend_from_slice(&batch_values);

        start = end;
        progress(start, total);
    }

    Ok(Features {
        values,
        shape,
        labels: images.labels.clone(),
    })
}

/// Converts the images in `range` to f32 pixels at the input size, HWC.
pub fn batch_pixels(images: &ImageSet, range: std::ops::Range<usize>, input: InputSize) -> Vec<f32> {
    let same_size = images.height == input.height && images.width == input.width;
    let mut pixels = Vec::with_capacity(range.len() * input.height * input.width * CHANNELS);
    for index in range {
        let image = images.image(index);
        if same_size {
            pixels.extend(image.iter().map(|&value| f32::from(value)));
        } else {
            let source = RgbImage::from_raw(images.width as u32, images.height as u32, image.to_vec())
                .expect("an ImageSet image has height * width * 3 bytes");
            let resized = image::imageops::resize(&source, input.width as u32, input.height as u32, FilterType::Triangle);
            pixels.extend(resized.into_raw().into_iter().map(f32::from));
        }
    }
    pixels
}
