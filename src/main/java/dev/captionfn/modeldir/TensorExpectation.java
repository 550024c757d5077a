package dev.captionfn.modeldir;

import ai.onnxruntime.OnnxJavaType;
import java.util.Map;

/**
 * What the server needs of one graph input or output: its name (from model.json), element type,
 * rank and the sizes of the axes that must match the rest of the model. Axes a graph leaves dynamic
 * are accepted, since only a run can tell their size.
 *
 * @param role the key in model.json's graphs.*.inputs/outputs, for messages
 * @param fixedDims axis index to the size it must have
 */
public record TensorExpectation(String role, String name, OnnxJavaType type, int rank, Map<Integer, Long> fixedDims) {
    public static TensorExpectation of(String role, String name, OnnxJavaType type, int rank) {
        return new TensorExpectation(role, name, type, rank, Map.of());
    }

    public TensorExpectation withDim(int axis, long size) {
        var dims = new java.util.HashMap<>(fixedDims);
        dims.put(axis, size);
        return new TensorExpectation(role, name, type, rank, Map.copyOf(dims));
    }
}
