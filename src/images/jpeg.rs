//! Checks that JPEG data is complete before it is decoded.
//!
//! The `image` crate (0.25.10) runs its JPEG decoder, zune-jpeg, in lenient mode, which returns
//! an image and no error for a file cut before its end. A truncated upload must be reported
//! instead, so the marker segments are walked up to the end-of-image marker (EOI) first.

/// End of image.
const EOI: u8 = 0xD9;
/// Start of scan: its header is followed by entropy-coded data.
const SOS: u8 = 0xDA;

/// Returns true if the marker segments of `bytes`, which start with the JPEG signature, run up
/// to an end-of-image marker.
///
/// Segment lengths are followed, so an EOI inside an embedded thumbnail (in an APP1 segment)
/// does not count. Stray bytes between segments are skipped, as libjpeg does.
pub fn reaches_end_marker(bytes: &[u8]) -> bool {
    // Skip the start-of-image marker, FF D8.
    let mut position = 2;
    while position + 1 < bytes.len() {
        if bytes[position] != 0xFF {
            position += 1;
            continue;
        }

        let marker = bytes[position + 1];
        match marker {
            EOI => return true,
            // A fill byte before a marker.
            0xFF => position += 1,
            // Markers without a length: TEM and the restart markers RST0 to RST7.
            0x01 | 0xD0..=0xD7 => position += 2,
            _ => {
                let Some(length) = bytes.get(position + 2..position + 4) else {
                    return false;
                };
                position += 2 + usize::from(u16::from_be_bytes([length[0], length[1]]));
                if marker == SOS {
                    position = end_of_entropy_data(bytes, position);
                }
            }
        }
    }
    false
}

/// Returns the position of the first marker after entropy-coded data that starts at `start`,
/// or the length of `bytes` if there is none. Inside that data, FF is followed by 00 (a
/// stuffed byte) or by a restart marker.
fn end_of_entropy_data(bytes: &[u8], start: usize) -> usize {
    let mut position = start;
    while position + 1 < bytes.len() {
        if bytes[position] == 0xFF && !matches!(bytes[position + 1], 0x00 | 0xD0..=0xD7 | 0xFF) {
            return position;
        }
        position += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SOI, an APP1 segment that contains an EOI, a scan of 4 data bytes and EOI.
    const COMPLETE: [u8; 20] = [
        0xFF, 0xD8, // SOI
        0xFF, 0xE1, 0x00, 0x04, 0xFF, 0xD9, // APP1 whose content is FF D9
        0xFF, 0xDA, 0x00, 0x02, // SOS with an empty header
        0x12, 0xFF, 0x00, 0xFF, 0xD3, 0x34, // data, a stuffed FF and RST3
        0xFF, 0xD9, // EOI
    ];

    #[test]
    fn complete_data_reaches_end() {
        assert!(reaches_end_marker(&COMPLETE));
    }

    #[test]
    fn cut_scan_does_not_reach_end() {
        for cut in 2..COMPLETE.len() - 1 {
            assert!(!reaches_end_marker(&COMPLETE[..cut]), "cut at {cut}");
        }
    }

    #[test]
    fn trailing_bytes_after_end_are_accepted() {
        let mut bytes = COMPLETE.to_vec();
        bytes.extend_from_slice(&[0, 0, 0]);
        assert!(reaches_end_marker(&bytes));
    }
}
