//! The model: a frozen VGG16 convolutional base and a trainable dense head on its features.

pub mod head;
pub mod head_file;
pub mod summary;
pub mod vgg16;

pub use head_file::{HeadSettings, load_head, save_head};
pub use head::{Activation, DenseLayer, Head, HeadConfig, HeadError, Output, Pooling};
pub use vgg16::{InputSize, Vgg16Base};
