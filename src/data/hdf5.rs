//! Reads the cat / non-cat HDF5 files and checks their layout before using any value.
//!
//! Each file contains `{split}_set_x` (uint8, N x 64 x 64 x 3, RGB), `{split}_set_y` (int64, N,
//! 0 or 1) and `list_classes` (two fixed-length strings, `non-cat` and `cat`), where `split`
//! is `train` or `test`.

use super::{CHANNELS, CLASS_NAMES, DataError, IMAGE_SIZE, ImageSet};
use hdf5_pure::{DType, Dataset, File};

/// File name of the training split.
pub const TRAIN_FILE: &str = "train_catvnoncat.h5";

/// File name of the test split.
pub const TEST_FILE: &str = "test_catvnoncat.h5";

const LAYOUT: &str = "{split}_set_x uint8 [N, 64, 64, 3], {split}_set_y int64 [N], list_classes [2]";

/// Part of the data set, one HDF5 file each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

/// Reads one split from the bytes of its HDF5 file and returns the images and class names.
///
/// `file` only names the source in error messages.
pub fn read_split(bytes: Vec<u8>, file: &str, split: Split) -> Result<(ImageSet, Vec<String>), DataError> {
    let file_size = bytes.len();
    let h5 = File::from_bytes(bytes).map_err(|error| DataError::Hdf5 {
        file: file.to_string(),
        message: error.to_string(),
    })?;
    let prefix = split.prefix();

    let x_name = format!("{prefix}_set_x");
    let x = open_dataset(&h5, file, &x_name)?;
    let x_shape = checked_shape(&x, file, &x_name, DType::U8, "uint8")?;
    let count = match x_shape.as_slice() {
        [count, height, width, channels]
            if *count > 0 && *height == IMAGE_SIZE && *width == IMAGE_SIZE && *channels == CHANNELS =>
        {
            *count
        }
        _ => return Err(invalid(file, &x_name, "shape [N, 64, 64, 3] with N > 0", format!("{x_shape:?}"))),
    };
    let pixel_bytes = count.saturating_mul(IMAGE_SIZE * IMAGE_SIZE * CHANNELS);
    if pixel_bytes > file_size {
        return Err(invalid(
            file,
            &x_name,
            format!("at most {file_size} bytes of pixels (the file's size)"),
            format!("a shape of {pixel_bytes} bytes"),
        ));
    }
    let pixels = x.read_u8().map_err(|error| unreadable(file, &x_name, error))?;
    if pixels.len() != pixel_bytes {
        return Err(invalid(file, &x_name, format!("{pixel_bytes} bytes"), format!("{} bytes", pixels.len())));
    }

    let y_name = format!("{prefix}_set_y");
    let y = open_dataset(&h5, file, &y_name)?;
    let y_shape = checked_shape(&y, file, &y_name, DType::I64, "int64")?;
    if y_shape != [count] {
        return Err(invalid(file, &y_name, format!("shape [{count}] (one label per image)"), format!("{y_shape:?}")));
    }
    let raw_labels = y.read_i64().map_err(|error| unreadable(file, &y_name, error))?;
    let mut labels = Vec::with_capacity(count);
    for (index, &value) in raw_labels.iter().enumerate() {
        match value {
            0 | 1 => labels.push(value as u8),
            _ => {
                return Err(DataError::Label {
                    file: file.to_string(),
                    dataset: y_name,
                    index,
                    value,
                });
            }
        }
    }

    let classes = read_classes(&h5, file)?;
    let images = ImageSet {
        pixels,
        labels,
        height: IMAGE_SIZE,
        width: IMAGE_SIZE,
    };
    Ok((images, classes))
}

/// Reads both files from `dir` and checks that their class names agree.
#[cfg(not(target_arch = "wasm32"))]
pub fn read_dir(dir: &std::path::Path) -> Result<super::CatData, DataError> {
    let read = |name: &str, split: Split| {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|source| DataError::Io {
            path: path.display().to_string(),
            source,
        })?;
        read_split(bytes, &path.display().to_string(), split)
    };

    let (train, classes) = read(TRAIN_FILE, Split::Train)?;
    let (test, _) = read(TEST_FILE, Split::Test)?;
    Ok(super::CatData { classes, train, test })
}

fn open_dataset(h5: &File, file: &str, name: &str) -> Result<Dataset, DataError> {
    h5.dataset(name).map_err(|_| DataError::MissingDataset {
        file: file.to_string(),
        dataset: name.to_string(),
        expected: LAYOUT,
    })
}

fn checked_shape(
    dataset: &Dataset,
    file: &str,
    name: &str,
    dtype: DType,
    dtype_name: &str,
) -> Result<Vec<usize>, DataError> {
    let got = dataset.dtype().map_err(|error| unreadable(file, name, error))?;
    if got != dtype {
        return Err(invalid(file, name, format!("element type {dtype_name}"), format!("element type {got}")));
    }
    let shape = dataset.shape().map_err(|error| unreadable(file, name, error))?;
    Ok(shape.iter().map(|&dim| usize::try_from(dim).unwrap_or(usize::MAX)).collect())
}

fn read_classes(h5: &File, file: &str) -> Result<Vec<String>, DataError> {
    let name = "list_classes";
    let dataset = open_dataset(h5, file, name)?;
    let dtype = dataset.dtype().map_err(|error| unreadable(file, name, error))?;
    if dtype != DType::String {
        return Err(invalid(file, name, "fixed-length strings", format!("element type {dtype}")));
    }
    let classes: Vec<String> = dataset
        .read_string()
        .map_err(|error| unreadable(file, name, error))?
        .into_iter()
        .map(|class| class.trim_end_matches('\0').trim().to_string())
        .collect();
    if classes != CLASS_NAMES {
        return Err(invalid(file, name, format!("{CLASS_NAMES:?}"), format!("{classes:?}")));
    }
    Ok(classes)
}

fn invalid(file: &str, dataset: &str, expected: impl Into<String>, got: String) -> DataError {
    DataError::Invalid {
        file: file.to_string(),
        dataset: dataset.to_string(),
        expected: expected.into(),
        got,
    }
}

fn unreadable(file: &str, dataset: &str, error: hdf5_pure::Error) -> DataError {
    invalid(file, dataset, "a readable dataset", error.to_string())
}
