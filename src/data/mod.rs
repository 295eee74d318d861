//! The cat / non-cat data set: 64x64 RGB images with a label each (1 = cat, 0 = non-cat).
//!
//! [`hdf5`] reads the two published HDF5 files, [`pack`] writes and reads the compact file that
//! the page fetches, and [`split`] divides the test images into validation and test parts.

mod error;
pub mod hdf5;
pub mod pack;
pub mod split;

pub use error::DataError;

/// Environment variable naming the folder with the two HDF5 files.
pub const DATA_DIR_VARIABLE: &str = "CATVNONCAT_DATA";

/// Folder with the two HDF5 files when [`DATA_DIR_VARIABLE`] is not set.
pub const DEFAULT_DATA_DIR: &str = "../shared/data/catvnoncat";

/// Class names in label order: label 0 is `non-cat`, label 1 is `cat`.
pub const CLASS_NAMES: [&str; 2] = ["non-cat", "cat"];

/// Side of the square images, in pixels.
pub const IMAGE_SIZE: usize = 64;

/// Colour channels per pixel (RGB).
pub const CHANNELS: usize = 3;

/// Images of one split with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Pixels of all images, each `height * width * 3` bytes in RGB, row-major (HWC).
    pub pixels: Vec<u8>,
    /// One label per image: 1 for cat, 0 for non-cat.
    pub labels: Vec<u8>,
    /// Image height in pixels.
    pub height: usize,
    /// Image width in pixels.
    pub width: usize,
}

impl ImageSet {
    /// Returns the number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Returns true if the set has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Returns the bytes of one image.
    pub fn image_bytes(&self) -> usize {
        self.height * self.width * CHANNELS
    }

    /// Returns the RGB pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.image_bytes();
        &self.pixels[index * size..(index + 1) * size]
    }

    /// Returns the images at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> ImageSet {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_bytes());
        for &index in indices {
            pixels.extend_from_slice(self.image(index));
        }
        ImageSet {
            pixels,
            labels: indices.iter().map(|&index| self.labels[index]).collect(),
            height: self.height,
            width: self.width,
        }
    }

    /// Counts the images of each class, indexed by label.
    pub fn class_counts(&self) -> [usize; 2] {
        let cats = self.labels.iter().filter(|&&label| label == 1).count();
        [self.len() - cats, cats]
    }
}

/// The whole data set: class names, training images and test images.
#[derive(Debug, Clone, PartialEq)]
pub struct CatData {
    /// Class names in label order, as stored in the data files.
    pub classes: Vec<String>,
    /// The 209 training images.
    pub train: ImageSet,
    /// The 50 test images, later split into validation and test parts.
    pub test: ImageSet,
}

/// Returns the data folder: `CATVNONCAT_DATA` if set, else [`DEFAULT_DATA_DIR`].
#[cfg(not(target_arch = "wasm32"))]
pub fn data_dir_from_env() -> std::path::PathBuf {
    std::env::var_os(DATA_DIR_VARIABLE)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(DEFAULT_DATA_DIR))
}
