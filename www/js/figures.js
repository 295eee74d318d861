// Draws RGB images from the data file as captioned figures.

/** Returns a <figure> with image `index` of `pixels` (RGB, `size` x `size`) and a caption. */
export function imageFigure(pixels, index, size, caption) {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const rgba = new ImageData(size, size);
  for (let pixel = 0; pixel < size * size; pixel++) {
    const source = (index * size * size + pixel) * 3;
    rgba.data.set([pixels[source], pixels[source + 1], pixels[source + 2], 255], pixel * 4);
  }
  canvas.getContext('2d').putImageData(rgba, 0, 0);
  const figure = document.createElement('figure');
  const text = document.createElement('figcaption');
  text.textContent = caption;
  figure.append(canvas, text);
  return figure;
}
