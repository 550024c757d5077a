/**
 * Image bytes to model input, reproducing what the reference pipelines (LAVIS, HF
 * BlipImageProcessor) get from Pillow 9.4: {@link dev.captionfn.image.ImageDecoder} gives
 * {@code Image.open(f).convert("RGB")}, {@link dev.captionfn.image.BicubicResizer} gives
 * {@code resize(size, Image.BICUBIC)}, and {@link dev.captionfn.image.ImagePreprocessor} rescales and
 * normalises into CHW float32 {@code pixel_values}.
 *
 * <p>Plain classes without Quarkus, thread-safe, so the captioning service can hold one of each.
 * The reference outputs the tests compare against come from src/test/python/make_pil_fixtures.py.
 */
package dev.captionfn.image;
