//! The HDF5 reader and the packed data file, on the real files and on damaged ones.

mod common;

use catvnoncat::data::hdf5::{Split, TEST_FILE, TRAIN_FILE, read_split};
use catvnoncat::data::{CLASS_NAMES, DataError, pack};
use hdf5_pure::FileBuilder;

#[test]
fn real_files_have_published_counts() {
    let data = common::data();
    assert_eq!(data.classes, CLASS_NAMES);
    assert_eq!(data.train.len(), 209);
    assert_eq!(data.test.len(), 50);
    assert_eq!(data.train.class_counts(), [137, 72]);
    assert_eq!(data.test.class_counts(), [17, 33]);
    assert_eq!(data.train.pixels.len(), 209 * 64 * 64 * 3);
}

#[test]
fn pack_round_trip_keeps_everything() {
    let data = common::data();
    let bytes = pack::pack(data);
    let unpacked = pack::unpack(&bytes, "memory").unwrap();
    assert_eq!(&unpacked, data);
}

#[test]
fn truncated_pack_is_rejected() {
    let bytes = pack::pack(common::data());
    let error = pack::unpack(&bytes[..bytes.len() - 1], "cut.bin").unwrap_err().to_string();
    assert!(error.contains("cut.bin"), "{error}");
    assert!(error.contains("payload of"), "{error}");
}

#[test]
fn changed_pixel_fails_checksum() {
    let mut bytes = pack::pack(common::data());
    let last = bytes.len() - 60;
    bytes[last] ^= 1;
    let error = pack::unpack(&bytes, "edited.bin").unwrap_err();
    assert!(matches!(error, DataError::Checksum { .. }), "{error}");
}

#[test]
fn pack_of_zeros_is_rejected() {
    let error = pack::unpack(&vec![0u8; 1000], "zeros.bin").unwrap_err().to_string();
    assert!(error.contains("zeros.bin"), "{error}");
    assert!(error.contains("CVNCDATA"), "{error}");
}

#[test]
fn packed_label_above_one_is_rejected() {
    let mut data = common::data().clone();
    data.test.labels[3] = 2;
    let error = pack::unpack(&pack::pack(&data), "labels.bin").unwrap_err().to_string();
    assert!(error.contains("label 2 at index 3"), "{error}");
}

#[test]
fn truncated_h5_is_rejected() {
    let bytes = std::fs::read(common::data_dir().join(TRAIN_FILE)).unwrap();
    let cut = bytes[..bytes.len() / 2].to_vec();
    let error = read_split(cut, "cut.h5", Split::Train).unwrap_err().to_string();
    assert!(error.contains("cut.h5"), "{error}");
}

#[test]
fn test_file_read_as_train_names_missing_dataset() {
    let bytes = std::fs::read(common::data_dir().join(TEST_FILE)).unwrap();
    let error = read_split(bytes, TEST_FILE, Split::Train).unwrap_err().to_string();
    assert!(error.contains("has no dataset train_set_x"), "{error}");
}

/// Writes a training file in the published layout, with the given pieces.
fn train_file(shape: &[u64], labels: &[i64], classes: &[&str]) -> Vec<u8> {
    let count: u64 = shape.iter().product();
    let mut builder = FileBuilder::new();
    builder
        .create_dataset("train_set_x")
        .with_u8_data(&vec![7u8; count as usize])
        .with_shape(shape);
    builder.create_dataset("train_set_y").with_i64_data(labels).with_shape(&[labels.len() as u64]);
    builder.create_dataset("list_classes").with_ascii_strings(classes).unwrap();
    builder.finish().unwrap()
}

#[test]
fn well_formed_small_file_reads() {
    let bytes = train_file(&[2, 64, 64, 3], &[0, 1], &["non-cat", "cat"]);
    let (images, classes) = read_split(bytes, "small.h5", Split::Train).unwrap();
    assert_eq!(images.labels, [0, 1]);
    assert_eq!(classes, CLASS_NAMES);
}

#[test]
fn wrong_image_shape_is_rejected() {
    let bytes = train_file(&[2, 32, 32, 3], &[0, 1], &["non-cat", "cat"]);
    let error = read_split(bytes, "small.h5", Split::Train).unwrap_err().to_string();
    assert!(error.contains("train_set_x"), "{error}");
    assert!(error.contains("[2, 32, 32, 3]"), "{error}");
}

#[test]
fn label_two_is_rejected() {
    let bytes = train_file(&[2, 64, 64, 3], &[0, 2], &["non-cat", "cat"]);
    let error = read_split(bytes, "small.h5", Split::Train).unwrap_err().to_string();
    assert!(error.contains("label 2 at index 1"), "{error}");
}

#[test]
fn label_count_mismatch_is_rejected() {
    let bytes = train_file(&[2, 64, 64, 3], &[0, 1, 1], &["non-cat", "cat"]);
    let error = read_split(bytes, "small.h5", Split::Train).unwrap_err().to_string();
    assert!(error.contains("train_set_y"), "{error}");
    assert!(error.contains("shape [2]"), "{error}");
}

#[test]
fn swapped_class_names_are_rejected() {
    let bytes = train_file(&[2, 64, 64, 3], &[0, 1], &["cat", "non-cat"]);
    let error = read_split(bytes, "small.h5", Split::Train).unwrap_err().to_string();
    assert!(error.contains("list_classes"), "{error}");
}

#[test]
fn float_pixels_are_rejected() {
    let mut builder = FileBuilder::new();
    builder.create_dataset("train_set_x").with_f32_data(&vec![0.0; 64 * 64 * 3]).with_shape(&[1, 64, 64, 3]);
    let error = read_split(builder.finish().unwrap(), "floats.h5", Split::Train).unwrap_err().to_string();
    assert!(error.contains("element type uint8"), "{error}");
    assert!(error.contains("f32"), "{error}");
}

#[test]
fn h5_of_zeros_is_rejected() {
    let error = read_split(vec![0u8; 4096], "zeros.h5", Split::Train).unwrap_err().to_string();
    assert!(error.starts_with("zeros.h5 is not a readable HDF5 file"), "{error}");
}
