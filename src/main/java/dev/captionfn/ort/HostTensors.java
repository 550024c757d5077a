package dev.captionfn.ort;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Tensors over host memory that lives as long as this object: ONNX Runtime reads the memory in
 * place (CreateTensorWithDataAsOrtValue), so the memory and its OrtValues go together at
 * {@link #close}, after the run that read them. One per decoder step.
 */
public final class HostTensors implements AutoCloseable {
    private final OrtCApi api;
    private final MemorySegment cpu;
    private final Arena arena = Arena.ofConfined();
    private final List<NativeValue> values = new ArrayList<>();

    HostTensors(OrtCApi api, MemorySegment cpuMemoryInfo) {
        this.api = api;
        this.cpu = cpuMemoryInfo;
    }

    public NativeValue longs(long[] data, long... shape) {
        MemorySegment memory = arena.allocate(JAVA_LONG, Math.max(data.length, 1));
        MemorySegment.copy(data, 0, memory, JAVA_LONG, 0, data.length);
        return tensor(memory, data.length * JAVA_LONG.byteSize(), NativeValue.INT64, shape);
    }

    public NativeValue floats(float[] data, long... shape) {
        MemorySegment memory = arena.allocate(JAVA_FLOAT, Math.max(data.length, 1));
        MemorySegment.copy(data, 0, memory, JAVA_FLOAT, 0, data.length);
        return tensor(memory, data.length * JAVA_FLOAT.byteSize(), NativeValue.FLOAT, shape);
    }

    /** A tensor with no elements (a shape with a 0), such as the past before prefill. */
    public NativeValue empty(boolean float16, long... shape) {
        for (long d : shape) {
            if (d == 0) {
                return tensor(arena.allocate(JAVA_LONG), 0, float16 ? NativeValue.FLOAT16 : NativeValue.FLOAT, shape);
            }
        }
        throw new IllegalArgumentException("an empty tensor needs a 0 among its dimensions");
    }

    private NativeValue tensor(MemorySegment data, long bytes, int type, long[] shape) {
        MemorySegment dims = arena.allocate(JAVA_LONG, Math.max(shape.length, 1));
        MemorySegment.copy(shape, 0, dims, JAVA_LONG, 0, shape.length);
        MemorySegment out = arena.allocate(ADDRESS);
        try {
            api.check((MemorySegment) api.createTensorWithData.invokeExact(cpu, data, bytes, dims, (long) shape.length, type, out),
                    "CreateTensorWithDataAsOrtValue");
        } catch (Throwable t) {
            throw OrtCallException.of("CreateTensorWithDataAsOrtValue", t);
        }
        NativeValue value = new NativeValue(api, out.get(ADDRESS, 0));
        values.add(value);
        return value;
    }

    @Override
    public void close() {
        try {
            values.forEach(NativeValue::close);
        } finally {
            arena.close();
        }
    }
}
