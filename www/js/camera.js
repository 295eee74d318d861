// Wraps the webcam: start, stop, and frames scaled to the model's input size.

export class Camera {
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.canvas = document.createElement('canvas');
  }

  /** Starts the webcam; `onEnded` runs if the system stops it. Throws with a readable message. */
  async start(onEnded) {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new Error('this browser gives no camera access (navigator.mediaDevices is missing); upload an image instead');
    }
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
    } catch (error) {
      const reasons = {
        NotAllowedError: 'camera permission was denied; allow it in the browser, or upload an image instead',
        NotFoundError: 'no camera was found; connect one, or upload an image instead',
        NotReadableError: 'the camera is in use by another program; close it, or upload an image instead',
      };
      throw new Error(reasons[error.name] ?? `the camera could not be started (${error.message}); upload an image instead`);
    }
    for (const track of this.stream.getVideoTracks()) {
      track.addEventListener('ended', () => {
        this.stop();
        onEnded();
      });
    }
    this.video.srcObject = this.stream;
    await this.video.play();
  }

  stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
  }

  get running() {
    return this.stream !== null;
  }

  /** Returns the current frame scaled to `size` x `size` as RGBA bytes. */
  frame(size) {
    this.canvas.width = size;
    this.canvas.height = size;
    const context = this.canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(this.video, 0, 0, size, size);
    return context.getImageData(0, 0, size, size).data;
  }
}
