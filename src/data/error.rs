use thiserror::Error;

/// Errors of reading and checking the cat / non-cat data.
#[derive(Debug, Error)]
pub enum DataError {
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}; set CATVNONCAT_DATA or pass --data to the folder with train_catvnoncat.h5 and test_catvnoncat.h5")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The file is not a readable HDF5 file.
    #[error("{file} is not a readable HDF5 file: {message}")]
    Hdf5 { file: String, message: String },

    /// A dataset is missing from the HDF5 file.
    #[error("{file} has no dataset {dataset}; expected the cat/non-cat layout ({expected})")]
    MissingDataset {
        file: String,
        dataset: String,
        expected: &'static str,
    },

    /// A dataset has the wrong shape, element type or content.
    #[error("dataset {dataset} in {file} is invalid: expected {expected}, got {got}")]
    Invalid {
        file: String,
        dataset: String,
        expected: String,
        got: String,
    },

    /// A label is neither 0 nor 1.
    #[error("dataset {dataset} in {file} has label {value} at index {index}; labels must be 0 (non-cat) or 1 (cat)")]
    Label {
        file: String,
        dataset: String,
        index: usize,
        value: i64,
    },

    /// The packed data file is damaged or of another kind.
    #[error("{file} is not a valid packed data file: {message}; rebuild it with `catvnoncat convert-data`")]
    Pack { file: String, message: String },

    /// The packed data file's checksum does not match its contents.
    #[error("checksum mismatch in {file}: expected SHA-256 {expected}, got {got}; the file is damaged, download or rebuild it")]
    Checksum {
        file: String,
        expected: String,
        got: String,
    },

    /// A split setting is outside its range.
    #[error("invalid split: {0}")]
    Split(String),
}
