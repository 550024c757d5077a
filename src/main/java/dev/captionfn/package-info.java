/**
 * captionfn: image URL in, InstructBLIP-style caption out, through ONNX Runtime.
 *
 * <p>One package per thing the code knows, in the data's order from {@code fetch} to the one
 * captioning service ({@code caption}) and the ways in on top; each imports only the floors below
 * it. The packages, one line each, and the floors are listed once, in the README's "Architecture",
 * and enforced by {@code ArchitectureTest}.
 */
package dev.captionfn;
