/**
 * captionfn: image URL in, InstructBLIP-style caption out, through ONNX Runtime.
 *
 * <p>Packages follow the data's way: {@code fetch} (bytes from the URL), {@code image} (decode, resize,
 * normalise), {@code text} (tokenizers), {@code model} (model directory and ONNX sessions),
 * {@code generate} (greedy and beam search), {@code caption} (the one captioning service), and the
 * ways in ({@code function}).
 */
package dev.captionfn;
