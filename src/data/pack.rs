//! The compact data file that the page fetches in place of the two HDF5 files.
//!
//! Layout, all integers little-endian:
//!
//! | bytes | content |
//! | --- | --- |
//! | 8 | magic `CVNCDATA` |
//! | 4 | format version, 1 |
//! | 4 | header length `n`, at most [`MAX_HEADER_BYTES`] |
//! | n | header, JSON: class names, image size, image count per split, payload SHA-256 |
//! | rest | training pixels, training labels, test pixels, test labels |
//!
//! Pixels are RGB, row-major (HWC), one byte per channel; labels are one byte each.

use super::{CHANNELS, CLASS_NAMES, CatData, DataError, ImageSet};
use crate::weights::sha256_hex;
use serde::{Deserialize, Serialize};

/// First bytes of every packed data file.
pub const MAGIC: &[u8; 8] = b"CVNCDATA";

/// Format version this module writes and reads.
pub const VERSION: u32 = 1;

/// Largest header accepted, so a damaged length cannot cause a large allocation.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Largest image side accepted, in pixels.
const MAX_IMAGE_SIDE: usize = 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    classes: Vec<String>,
    height: usize,
    width: usize,
    train_count: usize,
    test_count: usize,
    payload_sha256: String,
}

/// Serializes the data set to the packed format.
pub fn pack(data: &CatData) -> Vec<u8> {
    let mut payload = Vec::with_capacity(data.train.pixels.len() + data.test.pixels.len() + 512);
    for set in [&data.train, &data.test] {
        payload.extend_from_slice(&set.pixels);
        payload.extend_from_slice(&set.labels);
    }

    let header = Header {
        classes: data.classes.clone(),
        height: data.train.height,
        width: data.train.width,
        train_count: data.train.len(),
        test_count: data.test.len(),
        payload_sha256: sha256_hex(&payload),
    };
    let header_json = serde_json::to_vec(&header).expect("a header of strings and integers always serializes");

    let mut bytes = Vec::with_capacity(16 + header_json.len() + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(header_json.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&header_json);
    bytes.extend_from_slice(&payload);
    bytes
}

/// Reads a packed data file, checking its layout, sizes, checksum and labels.
///
/// `file` only names the source in error messages.
pub fn unpack(bytes: &[u8], file: &str) -> Result<CatData, DataError> {
    let pack_error = |message: String| DataError::Pack {
        file: file.to_string(),
        message,
    };

    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(pack_error("it does not start with CVNCDATA".to_string()));
    }
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version != VERSION {
        return Err(pack_error(format!("format version {version}, expected {VERSION}")));
    }
    let header_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    if header_len > MAX_HEADER_BYTES || 16 + header_len > bytes.len() {
        return Err(pack_error(format!(
            "header length {header_len} does not fit a file of {} bytes",
            bytes.len()
        )));
    }

    let header: Header = serde_json::from_slice(&bytes[16..16 + header_len])
        .map_err(|error| pack_error(format!("invalid header: {error}")))?;
    if header.classes != CLASS_NAMES {
        return Err(pack_error(format!("classes {:?}, expected {CLASS_NAMES:?}", header.classes)));
    }
    if header.height == 0 || header.width == 0 || header.height > MAX_IMAGE_SIDE || header.width > MAX_IMAGE_SIDE {
        return Err(pack_error(format!(
            "image size {}x{}, expected 1 to {MAX_IMAGE_SIDE} pixels a side",
            header.width, header.height
        )));
    }

    let payload = &bytes[16 + header_len..];
    let image_bytes = header.height * header.width * CHANNELS;
    let split_bytes = |count: usize| count.saturating_mul(image_bytes + 1);
    let expected_len = split_bytes(header.train_count).saturating_add(split_bytes(header.test_count));
    if payload.len() != expected_len {
        return Err(pack_error(format!(
            "payload of {} bytes, expected {expected_len} for {} training and {} test images",
            payload.len(),
            header.train_count,
            header.test_count
        )));
    }

    let got = sha256_hex(payload);
    if got != header.payload_sha256 {
        return Err(DataError::Checksum {
            file: file.to_string(),
            expected: header.payload_sha256,
            got,
        });
    }

    let (train, rest) = read_set(payload, header.train_count, &header, file, "train")?;
    let (test, _) = read_set(rest, header.test_count, &header, file, "test")?;
    Ok(CatData {
        classes: header.classes,
        train,
        test,
    })
}

fn read_set<'a>(
    payload: &'a [u8],
    count: usize,
    header: &Header,
    file: &str,
    name: &str,
) -> Result<(ImageSet, &'a [u8]), DataError> {
    let pixel_len = count * header.height * header.width * CHANNELS;
    let (pixels, rest) = payload.split_at(pixel_len);
    let (labels, rest) = rest.split_at(count);

    if let Some(index) = labels.iter().position(|&label| label > 1) {
        return Err(DataError::Label {
            file: file.to_string(),
            dataset: format!("{name} labels"),
            index,
            value: i64::from(labels[index]),
        });
    }

    let set = ImageSet {
        pixels: pixels.to_vec(),
        labels: labels.to_vec(),
        height: header.height,
        width: header.width,
    };
    Ok((set, rest))
}
